# Installs the headers and a relocatable package, so that
#   find_package(lazyload CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE lazyload::lazyload)
# works from any prefix. Adapters go into their own export sets and are
# defined by the package only when their dependency is found there too.
# Also installs share/pkgconfig/lazyload.pc for builds without CMake.
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

# lazyload.pc: the core's flags. Relocatable like the CMake package: the
# prefix is computed from ${pcfiledir}, unless the install directories are
# absolute paths.
set(LAZYLOAD_PC_DIR ${CMAKE_INSTALL_DATADIR}/pkgconfig)
if(IS_ABSOLUTE "${LAZYLOAD_PC_DIR}")
  set(LAZYLOAD_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH LAZYLOAD_PC_UP /prefix/${LAZYLOAD_PC_DIR} /prefix)
  string(REGEX REPLACE "/$" "" LAZYLOAD_PC_UP "${LAZYLOAD_PC_UP}")
  set(LAZYLOAD_PC_PREFIX "\${pcfiledir}/${LAZYLOAD_PC_UP}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(LAZYLOAD_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(LAZYLOAD_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/lazyload.pc.in
               ${CMAKE_CURRENT_BINARY_DIR}/lazyload.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lazyload.pc DESTINATION ${LAZYLOAD_PC_DIR})
