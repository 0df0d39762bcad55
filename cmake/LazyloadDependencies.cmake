# lazyload_find_or_fetch(<package> <min-version> <git-url> <git-tag>)
#
# Finds <package> with find_package(CONFIG) first (on Debian, the -dev
# package), and falls back to FetchContent from <git-url> at <git-tag> on
# machines with internet. CMake 3.24's FIND_PACKAGE_ARGS does both in one.
# Set FETCHCONTENT_TRY_FIND_PACKAGE_MODE=NEVER to force the download.
include(FetchContent)

function(lazyload_find_or_fetch package version url tag)
  if(TARGET ${package}::${package})
    return()
  endif()
  FetchContent_Declare(
    ${package}
    GIT_REPOSITORY ${url}
    GIT_TAG ${tag}
    GIT_SHALLOW TRUE
    FIND_PACKAGE_ARGS ${version} CONFIG)
  FetchContent_MakeAvailable(${package})
endfunction()
