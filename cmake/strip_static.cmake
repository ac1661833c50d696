# CPACK_PRE_BUILD_SCRIPTS (cmake/package.cmake): CPACK_STRIP_FILES strips
# programs and shared libraries only; libcleancache.a loses its debug
# information here too (26 MB -> a few MB in the package), as Debian ships
# static archives.
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(archive ${archives})
  execute_process(COMMAND strip --strip-debug --enable-deterministic-archives "${archive}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${archive} failed")
  endif()
endforeach()
