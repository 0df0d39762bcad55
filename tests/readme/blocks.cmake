# lazyload_readme_blocks(<readme> <prefix>)
#
# Finds the C++ blocks of a Markdown file: every fence opened with ```cpp
# (or ```c++), possibly indented, up to the next bare ``` fence. Sets, in
# the caller's scope:
#   <prefix>_COUNT        the number of blocks
#   <prefix>_<i>_LINE     block i's opening fence line (i counts from 1)
#   <prefix>_<i>_MARKERS  the words of the marker comment on the line right
#                         before the fence, `<!-- readme-test: c++20 -->`
#   <prefix>_<i>_CODE     the code, the fences excluded
# A marker word other than `c++20` and `main`, or a block left open, is a
# fatal error naming its line.
function(lazyload_readme_blocks readme prefix)
  file(READ "${readme}" text)
  # One list element per line: hide what a CMake list would split or escape.
  string(ASCII 1 semicolon)
  string(ASCII 2 open_bracket)
  string(ASCII 3 close_bracket)
  string(ASCII 4 backslash)
  string(REPLACE "\r" "" text "${text}")
  string(REPLACE ";" "${semicolon}" text "${text}")
  string(REPLACE "[" "${open_bracket}" text "${text}")
  string(REPLACE "]" "${close_bracket}" text "${text}")
  string(REPLACE "\\" "${backslash}" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")

  set(count 0)
  set(number 0)
  set(inside OFF)
  set(previous "")
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    if(inside)
      if(line MATCHES "^ *``` *$")
        set(inside OFF)
        string(REPLACE "${semicolon}" ";" code "${code}")
        string(REPLACE "${open_bracket}" "[" code "${code}")
        string(REPLACE "${close_bracket}" "]" code "${code}")
        string(REPLACE "${backslash}" "\\" code "${code}")
        set(${prefix}_${count}_CODE "${code}" PARENT_SCOPE)
      else()
        string(APPEND code "${line}\n")
      endif()
    elseif(line MATCHES "^ *``` *(cpp|c\\+\\+)( .*)?$")
      math(EXPR count "${count} + 1")
      set(inside ON)
      set(code "")
      set(markers "")
      if(previous MATCHES "^ *<!-- *readme-test: *([^>]*[^ >]) *-->")
        string(REPLACE " " ";" markers "${CMAKE_MATCH_1}")
        foreach(marker IN LISTS markers)
          if(NOT marker MATCHES "^(c\\+\\+20|main)$")
            message(FATAL_ERROR "${readme}:${number}: unknown readme-test "
                                "marker '${marker}' (known: c++20, main)")
          endif()
        endforeach()
      endif()
      set(open_line ${number})
      set(${prefix}_${count}_LINE ${number} PARENT_SCOPE)
      set(${prefix}_${count}_MARKERS "${markers}" PARENT_SCOPE)
    endif()
    set(previous "${line}")
  endforeach()
  if(inside)
    message(FATAL_ERROR "${readme}: the cpp block opened on line "
                        "${open_line} is never closed")
  endif()
  set(${prefix}_COUNT ${count} PARENT_SCOPE)
endfunction()
