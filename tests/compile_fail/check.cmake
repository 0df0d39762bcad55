# cmake -DCXX=... -DSTD=... -DINCLUDE=... -DSOURCE=... -P check.cmake
#
# Compiles SOURCE, which must fail with exactly one error whose text contains
# the message on its first line ("// expect: ..."): one readable
# static_assert, not pages of template errors.
file(READ ${SOURCE} content)
string(REGEX MATCH "^// expect: ([^\n]*)" line "${content}")
set(expected "${CMAKE_MATCH_1}")
execute_process(
  COMMAND ${CXX} -std=${STD} -fsyntax-only -fmessage-length=0 -I${INCLUDE}
          ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(FIND "${out}" "${expected}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "expected the message\n  ${expected}\ngot:\n${out}")
endif()
string(REGEX MATCHALL "error:" errors "${out}")
list(LENGTH errors count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one error, got ${count}:\n${out}")
endif()
message(STATUS "one error, as expected: ${expected}")
