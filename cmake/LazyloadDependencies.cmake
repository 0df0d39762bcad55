# lazyload_find_dependency(<what> <package> <min-version> <target>
#                          <debian-package> <git-url> <git-tag>)
#
# Makes <target> (the imported target of <package>) available for <what>, an
# adapter such as lazyload::json or "tests". In order: a <target> that a
# parent project already defines; find_package(<package> <min-version> CONFIG)
# (on Debian, <debian-package>); and only when LAZYLOAD_FETCH_DEPENDENCIES is
# ON, a download with FetchContent from <git-url> at <git-tag>. The core never
# needs any of this, so a configure without internet never tries the network
# unless asked to.
#
# When <target> is still missing, prints one line naming <what> and the
# package that would provide it, and the caller, which tests
# `if(TARGET <target>)`, leaves <what> out. When the package was downloaded,
# sets <package>_SOURCE_DIR in the caller's scope and appends <what> to
# LAZYLOAD_FETCHED (an adapter whose dependency was downloaded is not
# installed: the installed package could not find that dependency).

function(lazyload_find_dependency what package version target debian url tag)
  if(TARGET ${target})
    return()
  endif()
  find_package(${package} ${version} CONFIG QUIET)
  if(TARGET ${target})
    return()
  endif()
  if(NOT LAZYLOAD_FETCH_DEPENDENCIES)
    message(STATUS "lazyload: ${what} not built: ${package} ${version} not found "
                   "(Debian: ${debian}; or -DLAZYLOAD_FETCH_DEPENDENCIES=ON)")
    return()
  endif()
  include(FetchContent)
  FetchContent_Declare(
    ${package}
    GIT_REPOSITORY ${url}
    GIT_TAG ${tag}
    GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(${package})
  string(TOLOWER ${package} lower)
  set(${package}_SOURCE_DIR ${${lower}_SOURCE_DIR} PARENT_SCOPE)
  set(LAZYLOAD_FETCHED ${LAZYLOAD_FETCHED} ${what} PARENT_SCOPE)
  if(NOT TARGET ${target})
    message(STATUS "lazyload: ${what} not built: ${url} at ${tag} defines no ${target}")
  endif()
endfunction()
