#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <libfdt.h>
static uint64_t bufmem[8192/8];
static int step = 0;
#define R(x) do { int r_ = (x); printf("%d %d\n", step++, r_); } while (0)
int main(int argc, char **argv) {
    int bufsize = atoi(argv[1]); int flags = atoi(argv[2]);
    char *buf = (char*)bufmem; memset(buf, 0x5a, sizeof bufmem);
    R(fdt_create_with_flags(buf, bufsize, flags));
    R(fdt_begin_node(buf, "early"));
    R(fdt_add_reservemap_entry(buf, 0x1000, 0x100));
    R(fdt_finish_reservemap(buf));
    R(fdt_add_reservemap_entry(buf, 0x1000, 0x100));
    R(fdt_begin_node(buf, ""));
    R(fdt_property_string(buf, "compatible", "linux,dummy-virt"));
    R(fdt_property_u32(buf, "#address-cells", 2));
    R(fdt_property_u32(buf, "#size-cells", 2));
    R(fdt_property_u32(buf, "cells", 1));
    R(fdt_property(buf, "empty", NULL, 0));
    R(fdt_begin_node(buf, "memory@40000000"));
    R(fdt_property_string(buf, "device_type", "memory"));
    R(fdt_property_u64(buf, "reg", 0x40000000));
    R(fdt_end_node(buf));
    R(fdt_begin_node(buf, "chosen"));
    R(fdt_property_string(buf, "bootargs", "console=ttyAMA0"));
    R(fdt_property_string(buf, "compatible", "x"));
    R(fdt_property_string(buf, "patible", "y"));
    R(fdt_property(buf, "odd", "abcde", 5));
    R(fdt_end_node(buf));
    R(fdt_end_node(buf));
    R(fdt_finish(buf));
    R(fdt_check_full(buf, bufsize));
    R(fdt_totalsize(buf));
    fwrite(buf, 1, sizeof bufmem, stderr);
    memset(buf, 0x5a, sizeof bufmem);
    R(fdt_create_empty_tree(buf, bufsize));
    fwrite(buf, 1, sizeof bufmem, stderr);
    return 0;
}
