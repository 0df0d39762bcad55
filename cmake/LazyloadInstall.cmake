# Installs the headers and a relocatable package, so that
#   find_package(lazyload CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE lazyload::lazyload)
# works from any prefix. Adapters go into their own export sets and are
# defined by the package only when their dependency is found there too.
include(CMakePackageConfigHelpers)

set(LAZYLOAD_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/lazyload)

install(DIRECTORY include/lazyload DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS lazyload EXPORT lazyloadTargets)
install(EXPORT lazyloadTargets NAMESPACE lazyload::
        DESTINATION ${LAZYLOAD_CMAKE_DIR})

foreach(adapter IN LISTS LAZYLOAD_ADAPTERS)
  if("lazyload::${adapter}" IN_LIST LAZYLOAD_FETCHED)
    message(STATUS "lazyload: lazyload::${adapter} not installed: its dependency was downloaded")
    continue()
  endif()
  install(TARGETS lazyload_${adapter} EXPORT lazyload_${adapter}Targets)
  install(EXPORT lazyload_${adapter}Targets NAMESPACE lazyload::
          DESTINATION ${LAZYLOAD_CMAKE_DIR})
endforeach()

configure_package_config_file(
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/lazyloadConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/lazyloadConfig.cmake
  INSTALL_DESTINATION ${LAZYLOAD_CMAKE_DIR})
# Header-only: the version file must not pin the consumer's architecture.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/lazyloadConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lazyloadConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/lazyloadConfigVersion.cmake
        DESTINATION ${LAZYLOAD_CMAKE_DIR})
