# Run by CPack before it packs the binary tarball (CPACK_PRE_BUILD_SCRIPTS, target `package`):
# the pkg-config file names its prefix relative to its own folder, so the tarball works wherever
# it is unpacked (cmake --install writes the absolute prefix instead).
if(CPACK_PACKAGE_FILE_NAME STREQUAL CPACK_SOURCE_PACKAGE_FILE_NAME)
  return()  # the source archive (target package_source) has no pkg-config file
endif()
set(pc "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${CPACK_VERIKIT_PC_FILE}")
file(READ "${pc}" text)
string(REGEX REPLACE "(^|\n)prefix=[^\n]*" "\\1prefix=\${pcfiledir}/${CPACK_VERIKIT_PC_TO_PREFIX}" text "${text}")
file(WRITE "${pc}" "${text}")
