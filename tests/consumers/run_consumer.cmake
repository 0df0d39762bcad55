# cmake -DMODE=<mode> -DSOURCE_DIR=... -DWORK_DIR=... -DCXX=... -DGENERATOR=...
#       -DVERSION=<project version> [-DPREFIX=...] [-DCPACK=...]
#       -P run_consumer.cmake
#
# Builds and runs one consumer project against lazyload at SOURCE_DIR. MODE:
#   install           installs lazyload into WORK_DIR, then moves the prefix
#                     (the fixture of the modes that take PREFIX)
#   find_package      find_package(lazyload) from the installed PREFIX
#   fetch_content     FetchContent from a file:// URL of this checkout
#   add_subdirectory  the core alone, with nlohmann_json and fmt hidden
#   components        find_package(lazyload COMPONENTS ...) from PREFIX: all
#                     found; the _FOUND variables; a missing dependency
#   pkg_config        main.cpp compiled with `pkg-config --cflags --libs
#                     lazyload` from PREFIX, without CMake
#   deb               the .deb that CPack makes from the install fixture's build,
#                     checked, extracted (dpkg-deb -x, not installed) into a
#                     root, and find_package from there
#   single_include    main.cpp compiled with only -I single_include (the
#                     generated single header), without CMake
#   quickstart        examples/quickstart as tools/example.sh builds it, with
#                     nlohmann_json and fmt hidden

cmake_minimum_required(VERSION 3.16)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(JOIN " " cmd ${ARGN})
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

# run_expecting([FAILS] COMMAND <command>... EXPECT <line>...)
# Like run(), and fails unless the output has every line after EXPECT; with
# FAILS, the command must fail instead. The output is shown either way.
function(run_expecting)
  cmake_parse_arguments(arg "FAILS" "" "COMMAND;EXPECT" ${ARGN})
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  string(JOIN " " cmd ${arg_COMMAND})
  if(arg_FAILS AND rc EQUAL 0)
    message(FATAL_ERROR "succeeded, but should have failed: ${cmd}")
  elseif(NOT arg_FAILS AND NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
  # CMake wraps the text of errors: compare with whitespace runs as one space.
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
  foreach(line IN LISTS arg_EXPECT)
    string(FIND "${flat}" "${line}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the output of `${cmd}` lacks the line\n  ${line}")
    endif()
  endforeach()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(consumer ${CMAKE_CURRENT_LIST_DIR}/${MODE})
set(common -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
# What a machine without nlohmann_json, fmt and internet looks like.
set(hidden -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
           -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON -DFETCHCONTENT_FULLY_DISCONNECTED=ON)
set(hidden_lines
    "lazyload: lazyload::json not built: nlohmann_json 3.10 not found (Debian: nlohmann-json3-dev"
    "lazyload: lazyload::fmt not built: fmt 9 not found (Debian: libfmt-dev")

if(MODE STREQUAL "install")
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lazyload ${common}
      -DLAZYLOAD_BUILD_TESTS=OFF -DLAZYLOAD_BUILD_EXAMPLES=OFF
      -DLAZYLOAD_BUILD_BENCHMARKS=OFF -DLAZYLOAD_INSTALL=ON
      -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/lazyload)
  # Relocatable: move the installed tree; the other modes use it there.
  file(RENAME ${WORK_DIR}/prefix ${WORK_DIR}/moved-prefix)
  return()
elseif(MODE STREQUAL "find_package")
  run_expecting(
    COMMAND ${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build ${common}
            -DCMAKE_PREFIX_PATH=${PREFIX}
    EXPECT "lazyload_DIR: ${PREFIX}/share/cmake/lazyload")
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
elseif(MODE STREQUAL "add_subdirectory")
  run_expecting(
    COMMAND ${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build ${common} ${hidden}
            -DLAZYLOAD_SOURCE_DIR=${SOURCE_DIR}
    EXPECT ${hidden_lines})
elseif(MODE STREQUAL "components")
  set(hide_json -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON)
  run_expecting(
    COMMAND ${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/optional ${common}
            -DCMAKE_PREFIX_PATH=${PREFIX} -DCASE=optional ${hide_json}
    EXPECT "components: every _FOUND variable as expected")
  run_expecting(FAILS
    COMMAND ${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/missing ${common}
            -DCMAKE_PREFIX_PATH=${PREFIX} -DCASE=missing ${hide_json}
    EXPECT "lazyload::json needs nlohmann_json, which was not found (Debian: nlohmann-json3-dev)")
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build ${common}
      -DCMAKE_PREFIX_PATH=${PREFIX} -DCASE=required)
elseif(MODE STREQUAL "pkg_config")
  find_program(pkg_config pkg-config)
  if(NOT pkg_config)
    message("skipped: pkg-config is not installed")
    return()
  endif()
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/share/pkgconfig)
  run_expecting(COMMAND ${pkg_config} --modversion lazyload EXPECT "${VERSION}")
  execute_process(COMMAND ${pkg_config} --cflags --libs lazyload
                  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
  message("pkg-config --cflags --libs lazyload: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY ${WORK_DIR}/build)
  run(${CXX} -std=c++17 ${CMAKE_CURRENT_LIST_DIR}/main.cpp ${flags}
      -o ${WORK_DIR}/build/consumer)
  run(${WORK_DIR}/build/consumer)
  return()
elseif(MODE STREQUAL "deb")
  find_program(dpkg_deb dpkg-deb)
  if(NOT dpkg_deb)
    message("skipped: dpkg-deb is not installed")
    return()
  endif()
  get_filename_component(fixture ${PREFIX} DIRECTORY)
  run(${CPACK} --config ${fixture}/lazyload/CPackConfig.cmake -G DEB
      -B ${WORK_DIR}/package)
  file(GLOB deb ${WORK_DIR}/package/*.deb)
  list(LENGTH deb count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected one .deb in ${WORK_DIR}/package, found: ${deb}")
  endif()
  run_expecting(
    COMMAND ${dpkg_deb} --field ${deb} Package Version Architecture Suggests
    EXPECT "Package: liblazyload-dev" "Version: ${VERSION}" "Architecture: all"
           "Suggests: nlohmann-json3-dev, libfmt-dev")
  execute_process(COMMAND ${dpkg_deb} --field ${deb} Depends Pre-Depends
                  OUTPUT_VARIABLE depends)
  if(NOT depends STREQUAL "")
    message(FATAL_ERROR "the header-only package depends on something: ${depends}")
  endif()
  # Only headers and data: nothing under an architecture's directory.
  execute_process(COMMAND ${dpkg_deb} --contents ${deb} OUTPUT_VARIABLE contents)
  string(REGEX MATCHALL "\\./[^\n]*" paths "${contents}")
  foreach(path IN ITEMS ./usr/include/lazyload/lazyload.hpp ./usr/share/pkgconfig/lazyload.pc
                       ./usr/share/cmake/lazyload/lazyloadConfig.cmake)
    if(NOT path IN_LIST paths)
      message(FATAL_ERROR "the package lacks ${path}")
    endif()
  endforeach()
  foreach(path IN LISTS paths)
    if(NOT path MATCHES "^\\./(usr/((include|share)(/.*)?)?)?$")
      message(FATAL_ERROR "the package installs ${path}, outside /usr/include and /usr/share")
    endif()
  endforeach()
  run(${dpkg_deb} -x ${deb} ${WORK_DIR}/root)
  run_expecting(
    COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/find_package
            -B ${WORK_DIR}/build ${common} -DCMAKE_PREFIX_PATH=${WORK_DIR}/root/usr
    EXPECT "lazyload_DIR: ${WORK_DIR}/root/usr/share/cmake/lazyload")
elseif(MODE STREQUAL "single_include")
  file(MAKE_DIRECTORY ${WORK_DIR}/build)
  run(${CXX} -std=c++17 -Wall -Wextra -Wpedantic -Werror
      -I ${SOURCE_DIR}/single_include ${CMAKE_CURRENT_LIST_DIR}/main.cpp -pthread
      -o ${WORK_DIR}/build/consumer)
  run(${WORK_DIR}/build/consumer)
  return()
elseif(MODE STREQUAL "quickstart")
  # tools/example.sh on a machine with only the compiler and CMake, offline.
  run_expecting(
    COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build ${common} ${hidden}
            -DLAZYLOAD_BUILD_TESTS=OFF -DLAZYLOAD_BUILD_BENCHMARKS=OFF
    EXPECT ${hidden_lines})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/build --target quickstart)
  run(${WORK_DIR}/build/examples/quickstart/quickstart 100000)
  return()
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
