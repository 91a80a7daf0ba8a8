# Run at build time (cmake -P): fills the man page and the bash completion
# templates with what the built sarge says about its command table, and
# gzips the man page the way Debian does (gzip -9n: no name, no timestamp).
#   -DSARGE=path/to/sarge -DVERSION=x.y.z -DTEMPLATE_DIR=packaging -DOUTPUT_DIR=build/packaging
foreach(var SARGE VERSION TEMPLATE_DIR OUTPUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "generate.cmake: give -D${var}=...")
  endif()
endforeach()

function(sarge_generate flag out_var)
  execute_process(COMMAND "${SARGE}" generate-docs ${flag}
                  OUTPUT_VARIABLE output ERROR_VARIABLE error RESULT_VARIABLE status)
  if(NOT status EQUAL 0 OR output STREQUAL "")
    message(FATAL_ERROR "${SARGE} generate-docs ${flag} failed (${status}): ${error}")
  endif()
  set(${out_var} "${output}" PARENT_SCOPE)
endfunction()

sarge_generate(--man SARGE_MAN_COMMANDS)
sarge_generate(--bash SARGE_COMPLETION_TABLE)
set(SARGE_VERSION "${VERSION}")
configure_file("${TEMPLATE_DIR}/sarge.1.in" "${OUTPUT_DIR}/sarge.1" @ONLY)
configure_file("${TEMPLATE_DIR}/bash-completion.in" "${OUTPUT_DIR}/sarge.bash-completion" @ONLY)
execute_process(COMMAND gzip -9n -c "${OUTPUT_DIR}/sarge.1" OUTPUT_FILE "${OUTPUT_DIR}/sarge.1.gz"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "gzip ${OUTPUT_DIR}/sarge.1 failed")
endif()
