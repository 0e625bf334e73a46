#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <libfdt.h>
static uint64_t bufmem[(1<<20)/8];
static int step = 0;
#define R(x) do { int r_ = (x); printf("%d %d\n", step++, r_); } while (0)
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "rb"); static char src[2<<20]; size_t n = fread(src, 1, sizeof src, f); fclose(f);
    size_t bufsize = atoi(argv[2]);
    char *buf = (char*)bufmem;
    memset(buf, 0xa5, sizeof bufmem);
    R(fdt_open_into(src, buf, bufsize));
    int chosen = fdt_path_offset(buf, "/chosen"); R(chosen);
    R(fdt_setprop_string(buf, chosen, "bootargs", "console=ttyAMA0 root=/dev/vda"));
    R(fdt_setprop_u64(buf, chosen, "linux,initrd-start", 0x48000000ULL));
    R(fdt_setprop_u64(buf, chosen, "linux,initrd-end", 0x48100000ULL));
    R(fdt_setprop_string(buf, chosen, "bootargs", "short"));
    R(fdt_setprop(buf, chosen, "empty", NULL, 0));
    R(fdt_appendprop_string(buf, chosen, "empty", "x"));
    R(fdt_appendprop_u32(buf, chosen, "empty", 7));
    R(fdt_appendprop_addrrange(buf, 0, chosen, "range", 0x40000000ULL, 0x1000));
    int cpus = fdt_path_offset(buf, "/cpus"); R(cpus);
    int c1 = fdt_subnode_offset(buf, cpus, "cpu@1"); R(c1);
    if (c1 >= 0) R(fdt_del_node(buf, c1));
    int pci = fdt_add_subnode(buf, 0, "pci@8e00000"); R(pci);
    R(fdt_add_subnode(buf, 0, "pci"));
    R(fdt_setprop_string(buf, pci, "compatible", "pci-host-ecam-generic"));
    R(fdt_setprop_string(buf, pci, "device_type", "pci"));
    R(fdt_setprop_u32(buf, pci, "#address-cells", 3));
    R(fdt_setprop_u32(buf, pci, "#size-cells", 2));
    R(fdt_setprop_u32(buf, pci, "phandle", 0x9999));
    R(fdt_set_name(buf, pci, "pci@8e00000-renamed-long"));
    R(fdt_set_name(buf, pci, "p"));
    int sub = fdt_add_subnode(buf, pci, "dev@0"); R(sub);
    R(fdt_add_subnode(buf, pci, "dev@1"));
    R(fdt_delprop(buf, chosen, "linux,initrd-end"));
    R(fdt_delprop(buf, chosen, "nonexistent"));
    R(fdt_setprop(buf, 3, "x", "a", 1));
    R(fdt_add_mem_rsv(buf, 0x1000, 0x2000));
    R(fdt_add_mem_rsv(buf, 0x5000, 0x100));
    R(fdt_del_mem_rsv(buf, 0));
    R(fdt_del_mem_rsv(buf, 5));
    R(fdt_nop_property(buf, chosen, "empty"));
    int mem = fdt_node_offset_by_compatible(buf, -1, "arm,pl011"); R(mem);
    R(fdt_setprop_inplace_u32(buf, pci, "#size-cells", 1));
    R(fdt_setprop_inplace_u32(buf, pci, "compatible", 1));
    R(fdt_nop_node(buf, sub));
    R(fdt_setprop_placeholder(buf, chosen, "big", 1<<22, (void**)&f));
    R(fdt_setprop(buf, chosen, "kaslr-seed", "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    R(fdt_check_full(buf, bufsize));
    R(fdt_pack(buf));
    R(fdt_check_full(buf, fdt_totalsize(buf)));
    R(fdt_totalsize(buf));
    fwrite(buf, 1, bufsize, stderr);
    return 0;
}
