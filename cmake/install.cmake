# What `cmake --install` and the Debian package (`cpack -G DEB`) ship.
#
#   bin/cleancache                           the program (static layers, as built)
#   sbin/mount.fuse.cleancache               the mount(8) helper, when built (/sbin for prefix /usr)
#   lib/<multiarch>/libcleancache.so.0.1.0   libcleancache: the C and C++ APIs, the shim, every
#   lib/<multiarch>/libcleancache.a          backend built, the composition layer and PageCache
#   lib/<multiarch>/pkgconfig/cleancache.pc  `pkg-config --cflags --libs cleancache`
#   lib/<multiarch>/cmake/cleancache/        find_package(cleancache): cleancache::cleancache
#                                            (shared), cleancache::cleancache_static
#   include/cleancache/                      the public headers of those layers + version.h
#   share/man/man{1,5,8}/                    cleancache(1), cleancache-<command>(1),
#                                            cleancached.conf(5), mount.fuse.cleancache(8) (gzipped)
#   share/doc/cleancache/                    README.md and the design documents
#   /etc/cleancache/cleancached.conf         (<prefix>/etc for another prefix)
#   /lib/systemd/system/cleancached.service  (<prefix>/lib/systemd/system for another prefix)
#
# libcleancache is compiled a second time, position-independent, from the
# same sources as the layers (one OBJECT twin per layer, cleancache_<layer>_pic):
# the static layer archives the program, tests and benchmarks link stay as
# they are (no -fPIC cost on the data path of the in-tree build), and the
# installed .so and .a are made of the same PIC objects. Not in it: corpus
# and mrc (benchmark and replay tools), daemon, fuse, cli (programs).
#
# Off by default in sanitizer builds (CLEANCACHE_SANITIZE): they are for
# tests, an instrumented libcleancache is of no use outside, and the second
# compilation would cost CI time.
if(CLEANCACHE_SANITIZE)
  set(install_default OFF)
else()
  set(install_default ON)
endif()
option(CLEANCACHE_INSTALL "Build libcleancache (shared + static) and the man pages, and define the install rules"
       ${install_default})
if(NOT CLEANCACHE_INSTALL)
  return()
endif()

# The install directories (CMAKE_INSTALL_LIBDIR = lib/<multiarch>) are
# chosen in the top CMakeLists.txt, before any subdirectory reads them.
include(CMakePackageConfigHelpers)

# --- libcleancache: which layers -------------------------------------------
# The composition layer (C API, CreateBackend over every backend built) and
# PageCache, with everything they link: core, spec and the backends.
set(library_roots backends)
if(TARGET cleancache_pagecache)
  list(APPEND library_roots pagecache)
endif()
set(library_layers "")
set(third_party "")
set(pending ${library_roots})
while(pending)
  list(POP_FRONT pending layer)
  if(layer IN_LIST library_layers)
    continue()
  endif()
  list(APPEND library_layers ${layer})
  get_target_property(deps cleancache_${layer} CLEANCACHE_DEPS)
  foreach(dep ${deps})
    string(REGEX REPLACE "^cleancache_" "" dep_layer "${dep}")
    if(NOT dep STREQUAL dep_layer AND dep_layer IN_LIST CLEANCACHE_LAYER_ORDER)
      list(APPEND pending ${dep_layer})
    elseif(NOT dep IN_LIST third_party)
      list(APPEND third_party ${dep})
    endif()
  endforeach()
endwhile()
foreach(layer ${library_layers})
  if(NOT layer IN_LIST CLEANCACHE_LAYER_ORDER OR layer MATCHES "^(corpus|mrc|daemon|fuse|cli)$")
    message(FATAL_ERROR "libcleancache would contain the ${layer} layer; see cmake/install.cmake")
  endif()
endforeach()
set(CLEANCACHE_LIBRARY_LAYERS ${library_layers})

# cleancache_pic_twin(LAYER): an OBJECT library of the layer's sources,
# compiled position-independent with the layer's own include directories,
# definitions and dependencies (for their usage requirements only).
function(cleancache_pic_twin layer)
  set(target cleancache_${layer})
  set(sources "")
  set(from ${target})
  get_target_property(raw ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  foreach(source ${raw})
    if(source MATCHES "^\\$<TARGET_OBJECTS:([^>]+)>$")  # the backends' shared objects
      set(objects_target ${CMAKE_MATCH_1})
      get_target_property(inner ${objects_target} SOURCES)
      get_target_property(inner_dir ${objects_target} SOURCE_DIR)
      foreach(s ${inner})
        cmake_path(ABSOLUTE_PATH s BASE_DIRECTORY ${inner_dir})
        list(APPEND sources ${s})
      endforeach()
    else()
      cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${dir})
      list(APPEND sources ${source})
    endif()
  endforeach()
  add_library(${target}_pic OBJECT ${sources})
  set_target_properties(${target}_pic PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${target}_pic PRIVATE $<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>)
  target_compile_definitions(${target}_pic PRIVATE $<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>)
  target_compile_options(${target}_pic PRIVATE $<TARGET_PROPERTY:${target},COMPILE_OPTIONS>)
  get_target_property(deps ${target} CLEANCACHE_DEPS)
  target_link_libraries(${target}_pic PRIVATE ${deps})
endfunction()

set(library_objects "")
set(library_include_dirs "")
foreach(layer ${library_layers})
  cleancache_pic_twin(${layer})
  list(APPEND library_objects $<TARGET_OBJECTS:cleancache_${layer}_pic>)
  if(EXISTS ${PROJECT_SOURCE_DIR}/include/${layer}/cleancache)
    list(APPEND library_include_dirs ${PROJECT_SOURCE_DIR}/include/${layer})
  endif()
endforeach()

# The third-party libraries behind it: how a static user links them
# (pkg-config's Libs.private, the static CMake target's link interface).
# liblz4 is linked from its static archive (the top CMakeLists.txt says why);
# Debian builds that archive position-independent (no R_X86_64_32
# relocation: `readelf -r liblz4.a`), so it can go into the shared library,
# whose exports it stays out of (--exclude-libs). Libs.private rather than
# Requires.private: pkg-config resolves Requires.private even for a shared
# link's --cflags, which would make the -dev packages of zstd, libmemcached
# (and its libcrypto, libsasl2) a need of every C user, while no public
# header includes theirs.
set(pc_libs_private "")
set(static_link "")
set(config_dependencies Threads)
foreach(dep ${third_party})
  if(dep STREQUAL "cleancache_lz4")
    list(APPEND static_link ${LZ4_STATIC_LIBRARY})
    string(APPEND pc_libs_private " ${LZ4_STATIC_LIBRARY}")
  elseif(dep MATCHES "^PkgConfig::(.+)$")
    foreach(lib ${${CMAKE_MATCH_1}_LIBRARIES})
      list(APPEND static_link ${lib})
      string(APPEND pc_libs_private " -l${lib}")
    endforeach()
  elseif(dep STREQUAL "Threads::Threads")
    list(APPEND static_link Threads::Threads)
  elseif(dep MATCHES "^([A-Za-z0-9_]+)::" AND TARGET ${dep})
    # A CMake package's target (fmt::fmt, spdlog::spdlog, ...): the static
    # target's users find the package again (cleancacheConfig.cmake), a
    # pkg-config user links its library by name.
    list(APPEND static_link ${dep})
    list(APPEND config_dependencies ${CMAKE_MATCH_1})
    get_target_property(type ${dep} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(location ${dep} LOCATION)
      get_filename_component(name "${location}" NAME_WE)
      string(REGEX REPLACE "^lib" "" name "${name}")
      string(APPEND pc_libs_private " -l${name}")
    endif()
  else()
    message(FATAL_ERROR "cmake/install.cmake: libcleancache links ${dep}; say how a static user links it")
  endif()
endforeach()
# A C program linking the static archive needs the C++ runtime too.
string(APPEND pc_libs_private " -pthread -lstdc++ -lm")

set(public_includes "")
set(generated_include ${PROJECT_BINARY_DIR}/include/core)  # cleancache/version.h (src/core)
foreach(dir ${library_include_dirs} ${generated_include})
  list(APPEND public_includes $<BUILD_INTERFACE:${dir}>)
endforeach()
list(APPEND public_includes $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

add_library(cleancache_shared SHARED ${library_objects})
set_target_properties(cleancache_shared PROPERTIES
  OUTPUT_NAME cleancache EXPORT_NAME cleancache
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib)
target_link_libraries(cleancache_shared PRIVATE ${third_party})
# -z defs: every symbol the library uses is resolved at its own link (a
# missing layer fails here, not in a user's program).
target_link_options(cleancache_shared PRIVATE -Wl,--exclude-libs,liblz4.a -Wl,-z,defs)
target_include_directories(cleancache_shared INTERFACE ${public_includes})
target_compile_features(cleancache_shared INTERFACE cxx_std_20)

add_library(cleancache_static STATIC ${library_objects})
set_target_properties(cleancache_static PROPERTIES
  OUTPUT_NAME cleancache EXPORT_NAME cleancache_static
  ARCHIVE_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib)
target_link_libraries(cleancache_static PRIVATE ${static_link})
target_include_directories(cleancache_static INTERFACE ${public_includes})
target_compile_features(cleancache_static INTERFACE cxx_std_20)

# --- install rules ----------------------------------------------------------
if(TARGET cleancache_cli)  # not when CLEANCACHE_COMPONENTS leaves it out
  install(TARGETS cleancache_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(TARGETS cleancache_shared cleancache_static EXPORT cleancacheTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(dir ${library_include_dirs})
  install(DIRECTORY ${dir}/cleancache DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(FILES ${generated_include}/cleancache/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cleancache)

set(cmake_package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cleancache)
install(EXPORT cleancacheTargets NAMESPACE cleancache:: DESTINATION ${cmake_package_dir})
list(REMOVE_DUPLICATES config_dependencies)
set(CLEANCACHE_FIND_DEPENDENCIES "")
foreach(package ${config_dependencies})
  string(APPEND CLEANCACHE_FIND_DEPENDENCIES "find_dependency(${package})\n")
endforeach()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cleancacheConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cleancacheConfig.cmake
                              INSTALL_DESTINATION ${cmake_package_dir})
# 0.x: a minor release may change the API (semantic versioning's rule).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cleancacheConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cleancacheConfig.cmake ${PROJECT_BINARY_DIR}/cleancacheConfigVersion.cmake
        DESTINATION ${cmake_package_dir})

if(TARGET cleancache_cli)  # the pages are made from its --help
  add_subdirectory(${PROJECT_SOURCE_DIR}/man ${PROJECT_BINARY_DIR}/man)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/ARCHITECTURE.md
              ${PROJECT_SOURCE_DIR}/docs/CONTRACT.md ${PROJECT_SOURCE_DIR}/docs/DAEMON.md
              ${PROJECT_SOURCE_DIR}/docs/FUSE.md ${PROJECT_SOURCE_DIR}/docs/MRC.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The files whose text or place depends on the prefix (cleancache.pc, the
# systemd unit, the config file, the mount helper) are written when
# installing, for the prefix of that install: `cmake --install --prefix P`
# and the package (prefix /usr) get paths of their own, whatever prefix the
# build was configured with. Prefix /usr puts the config in /etc, the unit
# in /lib/systemd/system and the mount helper in /sbin (mount(8) looks for
# mount.<type> helpers in /sbin only, bookworm's packages still name it so).
set(mount_helper "")
if(TARGET mount.fuse.cleancache)
  set(mount_helper "$<TARGET_FILE:mount.fuse.cleancache>")
endif()
install(CODE "
set(CLEANCACHE_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(CLEANCACHE_STAGING_DIR \"${PROJECT_BINARY_DIR}/install-time\")
set(CLEANCACHE_VERSION \"${PROJECT_VERSION}\")
set(CLEANCACHE_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(CLEANCACHE_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
set(CLEANCACHE_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
set(CLEANCACHE_PC_LIBS_PRIVATE \"${pc_libs_private}\")
set(CLEANCACHE_MOUNT_HELPER \"${mount_helper}\")
include(\"${PROJECT_SOURCE_DIR}/cmake/install_time.cmake\")
")

include(${PROJECT_SOURCE_DIR}/cmake/package.cmake)
