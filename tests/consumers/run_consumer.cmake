# cmake -DMODE=find_package|fetch_content -DSOURCE_DIR=... -DWORK_DIR=...
#       -DCXX=... -DGENERATOR=... -P run_consumer.cmake
#
# Builds and runs one consumer project against lazyload at SOURCE_DIR.

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(JOIN " " cmd ${ARGN})
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(consumer ${CMAKE_CURRENT_LIST_DIR}/${MODE})
set(common -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)

if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lazyload ${common}
      -DLAZYLOAD_BUILD_TESTS=OFF -DLAZYLOAD_BUILD_EXAMPLES=OFF
      -DLAZYLOAD_BUILD_BENCHMARKS=OFF -DLAZYLOAD_INSTALL=ON
      -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/lazyload)
  # Relocatable: move the installed tree and use it from the new place.
  file(RENAME ${WORK_DIR}/prefix ${WORK_DIR}/moved-prefix)
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build ${common}
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/moved-prefix)
elseif(MODE STREQUAL "fetch_content")
  execute_process(COMMAND git -C ${SOURCE_DIR} rev-parse HEAD
                  OUTPUT_VARIABLE tag OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    # CTest reads this line as "skipped" (SKIP_REGULAR_EXPRESSION).
    message("skipped: ${SOURCE_DIR} is not a git checkout")
    return()
  endif()
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build ${common}
      -DLAZYLOAD_GIT_URL=file://${SOURCE_DIR} -DLAZYLOAD_GIT_TAG=${tag})
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
