"""Runs libfdt calls on a blob with the libfdt PyPI's pylibfdt bundles (1.7.2),
through ctypes on the C functions of its extension module, so each call is
exactly the C API the differential tests compare cellfdt with.

usage: libfdt_current.py BLOB < ops
One op per line, fields separated by spaces, byte strings in hex ("-" for
empty). One result line per op: the return code, or for get_alias the value
in hex ("null" for NULL). The edited buffer is written back to BLOB.
The first output line is the pylibfdt version.
"""
import ctypes
import importlib.metadata
import sys

import libfdt

lib = ctypes.CDLL(libfdt._libfdt.__file__)
lib.fdt_get_alias.restype = ctypes.c_void_p


def hexb(s):
    return b"" if s == "-" else bytes.fromhex(s)


def main():
    path = sys.argv[1]
    data = open(path, "rb").read()
    buf = ctypes.create_string_buffer(data, len(data))
    keep = []
    print(importlib.metadata.version("pylibfdt"))
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        op, a = f[0], f[1:]
        if op == "nop_property":
            rc = lib.fdt_nop_property(buf, int(a[0]), hexb(a[1]))
        elif op == "setprop_inplace":
            v = hexb(a[2])
            rc = lib.fdt_setprop_inplace(buf, int(a[0]), hexb(a[1]), v, len(v))
        elif op == "path_offset":
            rc = lib.fdt_path_offset(buf, hexb(a[0]))
        elif op == "get_alias":
            p = lib.fdt_get_alias(buf, hexb(a[0]))
            rc = "null" if p is None else (ctypes.string_at(p).hex() or "-")
        elif op == "appendprop_addrrange":
            rc = lib.fdt_appendprop_addrrange(
                buf, int(a[0]), int(a[1]), hexb(a[2]), ctypes.c_uint64(int(a[3])), ctypes.c_uint64(int(a[4]))
            )
        elif op == "overlay_apply":
            ov = open(a[0], "rb").read()
            ovbuf = ctypes.create_string_buffer(ov, len(ov))
            keep.append(ovbuf)
            rc = lib.fdt_overlay_apply(buf, ovbuf)
        else:
            raise SystemExit(f"unknown op {op}")
        print(rc)
    open(path, "wb").write(buf.raw)


main()
