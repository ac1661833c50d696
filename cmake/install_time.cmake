# Runs inside `cmake --install` (and cpack), after the other install rules,
# with CMAKE_INSTALL_PREFIX the prefix of this install (cmake/install.cmake
# sets the CLEANCACHE_* variables). Writes the files whose text or place
# depends on that prefix.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(sysconfdir "/etc")
  set(unitdir "/lib/systemd/system")  # bookworm's systemd.pc: systemdsystemunitdir
  set(sbindir "/sbin")
else()
  set(sysconfdir "${prefix}/etc")
  set(unitdir "${prefix}/lib/systemd/system")
  set(sbindir "${prefix}/sbin")
endif()
set(bindir "${prefix}/${CLEANCACHE_BINDIR}")
set(libdir "${prefix}/${CLEANCACHE_LIBDIR}")
set(includedir "${prefix}/${CLEANCACHE_INCLUDEDIR}")
set(configfile "${sysconfdir}/cleancache/cleancached.conf")
# file(INSTALL) puts DESTDIR in front of its destination itself; the
# existence check below needs it spelled out.
set(destdir "$ENV{DESTDIR}")

# One staging directory per destination: installs to two places may run at
# once (ctest -j runs the install tests in parallel).
string(MD5 staging_id "${destdir}${prefix}")
set(staging "${CLEANCACHE_STAGING_DIR}/${staging_id}")
file(MAKE_DIRECTORY "${staging}")
configure_file("${CLEANCACHE_SOURCE_DIR}/cmake/cleancache.pc.in" "${staging}/cleancache.pc" @ONLY)
file(INSTALL "${staging}/cleancache.pc" DESTINATION "${libdir}/pkgconfig")
configure_file("${CLEANCACHE_SOURCE_DIR}/dist/cleancached.service.in" "${staging}/cleancached.service" @ONLY)
file(INSTALL "${staging}/cleancached.service" DESTINATION "${unitdir}")

# The config file: never over an administrator's own (a package manager
# keeps it as a conffile; a plain install leaves an existing one alone).
if(EXISTS "${destdir}${configfile}")
  message(STATUS "Keeping: ${destdir}${configfile} (the shipped one is dist/cleancached.conf)")
else()
  file(INSTALL "${CLEANCACHE_SOURCE_DIR}/dist/cleancached.conf" DESTINATION "${sysconfdir}/cleancache")
endif()

if(CLEANCACHE_MOUNT_HELPER)
  file(INSTALL "${CLEANCACHE_MOUNT_HELPER}" DESTINATION "${sbindir}" USE_SOURCE_PERMISSIONS)
  if(NOT sbindir MATCHES "^/s?bin$|^/usr/sbin$")
    message(STATUS "mount(8) finds mount.fuse.cleancache in /sbin only: "
                   "ln -s ${sbindir}/mount.fuse.cleancache /sbin/ for `mount -t fuse.cleancache`")
  endif()
endif()
