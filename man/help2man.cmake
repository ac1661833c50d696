# cmake -P: one man page by help2man from `PROGRAM COMMAND --help`.
#   -DHELP2MAN -DPROGRAM -DCOMMAND (empty: the program itself) -DNAME
#   -DVERSION -DINCLUDE (the hand-written sections) -DOUTPUT
# help2man names the page after the program it runs, so a subcommand runs
# through a wrapper script called NAME (cleancache-mount runs
# `cleancache mount "$@"`, with argv[0] "cleancache" so that the usage line
# shows no build path).
get_filename_component(dir ${OUTPUT} DIRECTORY)
set(wrapper_dir ${dir}/help2man-wrappers)
file(MAKE_DIRECTORY ${wrapper_dir})
set(wrapper ${wrapper_dir}/${NAME})
file(WRITE ${wrapper} "#!/bin/bash\nexec -a cleancache '${PROGRAM}' ${COMMAND} \"$@\"\n")
file(CHMOD ${wrapper} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                                  WORLD_EXECUTE)
# The date help2man prints: the build's SOURCE_DATE_EPOCH when set (the
# package is then reproducible).
execute_process(COMMAND ${HELP2MAN} --no-info --section=1 --version-string=${VERSION} --include=${INCLUDE}
                        --output=${OUTPUT}.tmp ${wrapper}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUTPUT}.tmp)
  message(FATAL_ERROR "help2man ${NAME}: ${err}")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
