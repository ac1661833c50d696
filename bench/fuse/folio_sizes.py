#!/usr/bin/env python3
"""How the kernel holds a file's cached pages: small (4 KiB) folios or large.

Maps the first PAGES pages of FILE (MAP_PRIVATE: reading maps the page-cache
pages themselves), reads their page frames from /proc/self/pagemap and each
frame's flags from /proc/kpageflags (root), and counts pages that are small
folios, heads of large folios and tails of large folios. Pages not cached are
read in by the mapping first, so cache the file the way the workload does
before running this.
Usage: sudo bench/fuse/folio_sizes.py FILE [PAGES]   (default 8192: 32 MiB)
"""
import collections
import ctypes
import mmap
import os
import struct
import sys

KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL = 15, 16


def main():
    path = sys.argv[1]
    pages = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
    fd = os.open(path, os.O_RDONLY)
    pages = min(pages, os.fstat(fd).st_size // 4096)
    mapping = mmap.mmap(fd, pages * 4096, access=mmap.ACCESS_COPY)
    view = (ctypes.c_ubyte * (pages * 4096)).from_buffer(mapping)
    base = ctypes.addressof(view) // 4096
    for i in range(pages):  # map every page
        view[i * 4096]
    counts = collections.Counter()
    with open("/proc/self/pagemap", "rb") as pagemap, open("/proc/kpageflags", "rb") as flags:
        for i in range(pages):
            pagemap.seek((base + i) * 8)
            entry = struct.unpack("Q", pagemap.read(8))[0]
            if not entry >> 63 & 1:
                counts["not present"] += 1
                continue
            flags.seek((entry & ((1 << 55) - 1)) * 8)
            f = struct.unpack("Q", flags.read(8))[0]
            kind = "large folio head" if f >> KPF_COMPOUND_HEAD & 1 else \
                "large folio tail" if f >> KPF_COMPOUND_TAIL & 1 else "small folio"
            counts[kind] += 1
    del view
    mapping.close()
    print(f"{path}: {pages} pages: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
