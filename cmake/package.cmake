# The Debian package: `cpack -G DEB --config build/CPackConfig.cmake`
# (or `cmake --build build --target package`) -> cleancache_0.1.0_amd64.deb.
# One package with everything cmake/install.cmake installs, at prefix /usr.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cleancache)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The Maintainer field; a distributor sets a real address:
# -DCLEANCACHE_PACKAGE_CONTACT="Name <mail>".
set(CLEANCACHE_PACKAGE_CONTACT "cleancache developers <cleancache@localhost>" CACHE STRING
    "Maintainer of the Debian package")
set(CPACK_PACKAGE_CONTACT "${CLEANCACHE_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "user-space second-chance cache for clean file pages")
set(CPACK_PACKAGE_DESCRIPTION "cleancache keeps clean file pages alive after a primary cache drops them, in
compressed RAM, a host-wide daemon (cleancached), memcached, or a tier of
them. This package holds the cleancache program (a FUSE mount, the daemon,
benchmarks, miss-ratio curves), libcleancache (C and C++ APIs) with its
headers, pkg-config file and CMake package, and the man pages.")
# Installed with DESTDIR at prefix /usr, so cmake/install_time.cmake sees the
# package's own prefix and puts the config in /etc, the unit in
# /lib/systemd/system.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Stripped, as Debian ships programs (the build tree keeps the debug info).
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/strip_static.cmake)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the ELF files' needs (dpkg-shlibdeps); a shlibs file for
# libcleancache.so.0 and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# fusermount3 lets users who are not root mount.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS fuse3)
# conffiles: /etc/cleancache/cleancached.conf. postinst/postrm only make
# systemd see the unit (daemon-reload); prerm stops a running daemon before
# removal. Nothing enables or starts cleancached: it is a host-wide service
# an administrator sizes first (its `capacity` is real memory).
# triggers: ldconfig after libcleancache.so.0 comes or goes.
configure_file(${PROJECT_SOURCE_DIR}/dist/debian/conffiles ${PROJECT_BINARY_DIR}/debian/conffiles COPYONLY)
configure_file(${PROJECT_SOURCE_DIR}/dist/debian/triggers ${PROJECT_BINARY_DIR}/debian/triggers COPYONLY)
foreach(script postinst prerm postrm)
  file(COPY ${PROJECT_SOURCE_DIR}/dist/debian/${script} DESTINATION ${PROJECT_BINARY_DIR}/debian
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/debian/conffiles ${PROJECT_BINARY_DIR}/debian/triggers ${PROJECT_BINARY_DIR}/debian/postinst
    ${PROJECT_BINARY_DIR}/debian/prerm ${PROJECT_BINARY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
