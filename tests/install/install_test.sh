#!/usr/bin/env bash
# Tests of what `cmake --install` and the Debian package ship (ctest label
# `install`, tests/install/CMakeLists.txt). Each case works in its own
# temporary directory, removed also when it fails.
#   install_test.sh pkgconfig|cmake|deb|man BUILD_DIR SOURCE_DIR
# (No `cmd | grep -q` under pipefail: grep's early exit can kill cmd with
# SIGPIPE and fail a good pipeline; here-strings instead.)
set -euo pipefail
case_name=$1
build=$(cd "$2" && pwd)
source_dir=$(cd "$3" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cleancache-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL ($case_name): $*" >&2
  exit 1
}
multiarch=$(gcc -print-multiarch)
libdir_rel=lib/$multiarch

# install PREFIX: DESTDIR install of the build into $work/root.
install_to() {
  DESTDIR=$work/root cmake --install "$build" --prefix "$1" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install --prefix $1 failed"; }
}

case $case_name in
pkgconfig)
  # A prefix that is not /usr: the .pc file and the config carry it.
  prefix=/opt/cleancache
  install_to $prefix
  root=$work/root$prefix
  for f in bin/cleancache "$libdir_rel/libcleancache.so.0.1.0" "$libdir_rel/libcleancache.a" \
    include/cleancache/cleancache.h include/cleancache/cleancache.hpp include/cleancache/version.h \
    include/cleancache/zcache.h include/cleancache/page_cache.h "$libdir_rel/pkgconfig/cleancache.pc" \
    etc/cleancache/cleancached.conf lib/systemd/system/cleancached.service share/man/man1/cleancache.1.gz share/doc/cleancache/README.md; do
    [ -e "$root/$f" ] || fail "$prefix/$f not installed"
  done
  [ "$(readlink "$root/$libdir_rel/libcleancache.so.0")" = libcleancache.so.0.1.0 ] || fail "libcleancache.so.0 link"
  [ "$(readlink "$root/$libdir_rel/libcleancache.so")" = libcleancache.so.0 ] || fail "libcleancache.so link"
  soname=$(readelf -d "$root/$libdir_rel/libcleancache.so.0.1.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
  [ "$soname" = libcleancache.so.0 ] || fail "SONAME is '$soname'"
  # liblz4 is inside, not exported: a program's own liblz4 cannot clash with it.
  if grep -q ' LZ4_' <<<"$(nm -D --defined-only "$root/$libdir_rel/libcleancache.so.0.1.0")"; then
    fail "libcleancache.so exports LZ4_ symbols"
  fi
  grep -q "^ExecStart=$prefix/bin/cleancache serve --config $prefix/etc/cleancache/cleancached.conf\$" \
    "$root/lib/systemd/system/cleancached.service" || fail "the unit's ExecStart does not name $prefix"
  grep -q "^prefix=$prefix\$" "$root/$libdir_rel/pkgconfig/cleancache.pc" || fail "cleancache.pc prefix"

  export PKG_CONFIG_PATH=$root/$libdir_rel/pkgconfig PKG_CONFIG_SYSROOT_DIR=$work/root
  # Shared: only what pkg-config says.
  # shellcheck disable=SC2046
  cc -Wall -Werror -o "$work/consumer" "$source_dir/tests/install/consumer.c" \
    $(pkg-config --cflags --libs cleancache) || fail "C consumer does not build with pkg-config"
  grep -q "libcleancache.so.0 => $root/" <<<"$(LD_LIBRARY_PATH=$root/$libdir_rel ldd "$work/consumer")" ||
    fail "the C consumer does not load the installed libcleancache.so.0"
  LD_LIBRARY_PATH=$root/$libdir_rel "$work/consumer" || fail "C consumer (shared) failed"
  # Static: the archive with what Libs.private adds (--static).
  static_libs=$(pkg-config --static --libs cleancache | sed 's/-lcleancache\b/-l:libcleancache.a/')
  # shellcheck disable=SC2046,SC2086
  cc -Wall -Werror -o "$work/consumer_static" "$source_dir/tests/install/consumer.c" \
    $(pkg-config --cflags cleancache) $static_libs || fail "C consumer does not link the static archive"
  if grep -q libcleancache <<<"$(ldd "$work/consumer_static")"; then fail "the static consumer loads libcleancache.so"; fi
  "$work/consumer_static" || fail "C consumer (static) failed"
  ;;
cmake)
  prefix=/usr/local
  install_to $prefix
  root=$work/root$prefix
  cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$root" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; fail "find_package(cleancache) consumer does not configure"; }
  cmake --build "$work/consumer" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; fail "find_package(cleancache) consumer does not build"; }
  LD_LIBRARY_PATH=$root/$libdir_rel "$work/consumer/consumer_shared" || fail "C++ consumer (shared) failed"
  grep -q "libcleancache.so.0 => $root/" <<<"$(LD_LIBRARY_PATH=$root/$libdir_rel ldd "$work/consumer/consumer_shared")" ||
    fail "consumer_shared does not load the installed libcleancache.so.0"
  "$work/consumer/consumer_static" || fail "C++ consumer (static) failed"
  ;;
deb)
  cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
  deb=$(ls "$work"/pkg/cleancache_*.deb)
  dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
  for f in /usr/bin/cleancache "/usr/$libdir_rel/libcleancache.so.0.1.0" "/usr/$libdir_rel/libcleancache.so.0" \
    "/usr/$libdir_rel/libcleancache.so" "/usr/$libdir_rel/libcleancache.a" \
    /usr/include/cleancache/cleancache.h /usr/include/cleancache/version.h \
    "/usr/$libdir_rel/pkgconfig/cleancache.pc" "/usr/$libdir_rel/cmake/cleancache/cleancacheConfig.cmake" \
    "/usr/$libdir_rel/cmake/cleancache/cleancacheTargets.cmake" /usr/share/man/man1/cleancache.1.gz \
    /usr/share/man/man1/cleancache-mount.1.gz /usr/share/man/man5/cleancached.conf.5.gz \
    /lib/systemd/system/cleancached.service /etc/cleancache/cleancached.conf; do
    grep -qxF "$f" "$work/contents" || fail "package lacks $f"
  done
  # The mount(8) helper and its page, when this build has it (its page is
  # built exactly then, man/CMakeLists.txt).
  if [ -e "$build/man/mount.fuse.cleancache.8" ]; then
    for f in /sbin/mount.fuse.cleancache /usr/share/man/man8/mount.fuse.cleancache.8.gz; do
      grep -qxF "$f" "$work/contents" || fail "package lacks $f"
    done
  fi
  [ "$(dpkg-deb -f "$deb" Version)" = 0.1.0 ] || fail "package version"
  depends=$(dpkg-deb -f "$deb" Depends)
  for lib in libc6 libstdc++6 libfuse3-3 libzstd1; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (shlibdeps): $depends"
  done
  dpkg-deb -e "$deb" "$work/control"
  grep -qx /etc/cleancache/cleancached.conf "$work/control/conffiles" || fail "the config is not a conffile"
  grep -q '^libcleancache 0 ' "$work/control/shlibs" || fail "no shlibs entry for libcleancache.so.0"
  grep -qx 'activate-noawait ldconfig' "$work/control/triggers" || fail "no ldconfig trigger"
  if cat "$work/control"/p* | grep -v '^[[:space:]]*#' |
    grep -Eq 'systemctl +(--[a-z]+ +)*(enable|start|restart)|deb-systemd-(invoke +start|helper +enable)'; then
    fail "a maintainer script enables or starts the service"
  fi
  # Install into a scratch root with its own dpkg database: --force-depends
  # (the scratch database knows none of the dependencies, the host has them),
  # --force-script-chrootless (the scripts run with DPKG_ROOT set and then
  # touch nothing outside it), --force-not-root for an unprivileged ctest.
  root=$work/root
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
  : >"$root/var/lib/dpkg/status"
  dpkg --root="$root" --log="$root/var/log/dpkg.log" --force-depends --force-script-chrootless --force-not-root \
    --no-triggers -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg --root -i failed"; }
  grep -q '^Status: install ok installed' <<<"$(dpkg --root="$root" -s cleancache)" || fail "not installed in the scratch root"
  [ ! -e "$root/etc/systemd/system/multi-user.target.wants/cleancached.service" ] || fail "the service was enabled"
  version=$("$root/usr/bin/cleancache" --version | head -n 1)
  case $version in "cleancache 0.1.0 "*) ;; *) fail "installed cleancache --version says '$version'" ;; esac
  grep -q '^ExecStart=/usr/bin/cleancache serve --config /etc/cleancache/cleancached.conf$' \
    "$root/lib/systemd/system/cleancached.service" || fail "the packaged unit's ExecStart"
  grep -q '^Type=notify$' "$root/lib/systemd/system/cleancached.service" || fail "the unit is not Type=notify"
  echo "$deb: contents, Depends ($depends), conffiles, shlibs; installed in a scratch root: $version"
  ;;
man)
  bash "$source_dir/tests/install/check_man_pages.sh" "$build/src/cli/cleancache" "$build/man"
  ;;
*)
  fail "unknown case"
  ;;
esac
