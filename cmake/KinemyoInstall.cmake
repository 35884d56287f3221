# Install rules of the C++ core (included by ../CMakeLists.txt when KINEMYO_INSTALL is ON and this is
# not the wheel build): the static library, the public headers and a CMake package, so that
#   find_package(kinemyo 0.1 CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE kinemyo::core)
# works against the install prefix (see examples/cpp/).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KINEMYO_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/kinemyo"
    CACHE STRING "Where the kinemyo CMake package files are installed (relative to the prefix)")
mark_as_advanced(KINEMYO_INSTALL_CMAKEDIR)

install(TARGETS kinemyo_core
  EXPORT kinemyoTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT kinemyo_development
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT kinemyo_development)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/cpp/include/kinemyo"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT kinemyo_development
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
install(EXPORT kinemyoTargets
  NAMESPACE kinemyo::
  FILE kinemyoTargets.cmake
  DESTINATION "${KINEMYO_INSTALL_CMAKEDIR}" COMPONENT kinemyo_development)

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/kinemyoConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/kinemyoConfig.cmake"
  INSTALL_DESTINATION "${KINEMYO_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/kinemyoConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  # while the major version is 0, a minor version may break the API: only the same minor matches
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/kinemyoConfig.cmake" "${PROJECT_BINARY_DIR}/kinemyoConfigVersion.cmake"
  DESTINATION "${KINEMYO_INSTALL_CMAKEDIR}" COMPONENT kinemyo_development)
