# cmake -DCXX=... -DREADME=... -DINDEX=... -DCOUNT=... -DINCLUDE=...
#       [-DDEPS_INCLUDE=dir|dir...] [-DIMPLICIT_INCLUDE=dir|dir...]
#       -DWORK=... -P check.cmake
#
# The README's code compiles: compiles C++ block INDEX (of COUNT) of README,
# a fence opened with ```cpp, as a translation unit of its own, with CXX,
# -std=c++17 and the project's -Wall -Wextra -Wpedantic -Werror, plus
# -Wsign-conversion: since C++14 `2 << 30` is INT_MIN without a warning, and
# a memory budget of (std::size_t)INT_MIN is no budget. Errors point at README
# lines (a #line directive comes first).
#
# The test adds nothing to a block, so a block must compile on its own: it
# writes its #includes and declares the types and functions it uses (a
# one-line stub such as `struct Model { int predict(int) const; };` does).
# A comment on the line right before the fence changes that, with one or
# more of these words:
#   <!-- readme-test: c++20 -->   compile as C++20 rather than C++17
#   <!-- readme-test: main -->    append `int main() {}`
# DEPS_INCLUDE are the include directories of nlohmann_json and fmt, for
# blocks that use the adapters; those among IMPLICIT_INCLUDE (the compiler's
# own) are left out, as -I/usr/include would break #include_next.
cmake_minimum_required(VERSION 3.24)
include(${CMAKE_CURRENT_LIST_DIR}/blocks.cmake)
lazyload_readme_blocks(${README} block)
if(NOT block_COUNT EQUAL COUNT)
  message(FATAL_ERROR "README.md has ${block_COUNT} cpp blocks, ${COUNT} when "
                      "cmake ran: re-run cmake")
endif()
set(LINE ${block_${INDEX}_LINE})  # where it is now, if the text above changed

set(std c++17)
set(code "#line ${LINE} \"${README}\"\n\n${block_${INDEX}_CODE}")
if("c++20" IN_LIST block_${INDEX}_MARKERS)
  set(std c++20)
endif()
if("main" IN_LIST block_${INDEX}_MARKERS)
  string(APPEND code "#line 1 \"readme-test: main\"\nint main() {}\n")
endif()

set(includes -I${INCLUDE})
string(REPLACE "|" ";" deps "${DEPS_INCLUDE}")
string(REPLACE "|" ";" implicit "${IMPLICIT_INCLUDE}")
list(REMOVE_DUPLICATES deps)
foreach(dir IN LISTS deps)
  if(dir AND NOT dir IN_LIST implicit)
    list(APPEND includes -I${dir})
  endif()
endforeach()

set(source ${WORK}/block_${INDEX}.cpp)
file(WRITE ${source} "${code}")
set(command ${CXX} -std=${std} -Wall -Wextra -Wpedantic -Wsign-conversion
            -Werror -fsyntax-only -fmessage-length=0 ${includes} ${source})
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  list(JOIN command " " shown)
  message("${out}")  # as the compiler wrote it, unwrapped
  message(FATAL_ERROR "README.md block ${INDEX} (line ${LINE}) does not "
                      "compile as ${std} (errors above), with\n  ${shown}")
endif()
message(STATUS "README.md block ${INDEX} (line ${LINE}) compiles as ${std}")
