#!/bin/sh
# check_c_link.sh PROGRAM LINK_MAP: PROGRAM (C API + zcache only) runs, and
# neither what the linker loaded for it (LINK_MAP, its -Map output: every
# archive and shared library on the link line) nor its dynamic dependencies
# name libfuse, libmemcached or libsodium.
set -eu
program=$1
map=$2
"$program"
# The map must list the link's inputs, or the check below proves nothing.
grep -q 'libcleancache_zcache\.a' "$map" || { echo "FAIL: $map does not list the link's inputs" >&2; exit 1; }
if grep -Eo '[^ ()]*(fuse|memcached|sodium)[^ ()]*\.(a|so[.0-9]*)' "$map" | sort -u | grep .; then
  echo "FAIL: the link of $program loaded the above" >&2
  exit 1
fi
if ldd "$program" | grep -E 'libfuse|libmemcached|libsodium'; then
  echo "FAIL: $program depends on the above at run time" >&2
  exit 1
fi
echo "ok: $program links neither libfuse nor libmemcached (nor libsodium)"
