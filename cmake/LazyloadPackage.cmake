# A Debian package of what `cmake --install` installs (the headers, the CMake
# package and lazyload.pc), built by CPack:
#   cmake -S . -B build/deb -DLAZYLOAD_BUILD_TESTS=OFF -DLAZYLOAD_BUILD_EXAMPLES=OFF
#   cpack --config build/deb/CPackConfig.cmake -B build/deb
# lazyload is header-only, so the package is architecture `all` and depends
# on nothing; the adapters' libraries are suggested, not required, as the
# core needs neither. Included by CMakeLists.txt at top level only, like
# CTest. Set CPACK_PACKAGE_CONTACT to the maintainer who publishes it.

set(CPACK_PACKAGE_NAME liblazyload-dev)
set(CPACK_PACKAGE_VENDOR lazyload)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "lazyload wraps each heavy thing (a model, a file, a plugin, a connection) in a handle that loads it on first use, exactly once however many threads ask, with a registry for priorities, background loading, a memory budget and status reports.")
set(CPACK_PACKAGE_HOMEPAGE_URL "${PROJECT_HOMEPAGE_URL}")
set(CPACK_RESOURCE_FILE_LICENSE "${CMAKE_CURRENT_SOURCE_DIR}/LICENSE")
if(NOT CPACK_PACKAGE_CONTACT)
  set(CPACK_PACKAGE_CONTACT "lazyload maintainers <${PROJECT_HOMEPAGE_URL}>")
endif()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nlohmann-json3-dev, libfmt-dev")
include(CPack)
