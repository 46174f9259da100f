# Embeds the Redis store's .lua files into a C++ header at build time (no tools beyond CMake):
#   cmake -DDIR=<folder of the .lua files> -DNAMES=<name,name,...> -DOUT=<header> -P embed_lua.cmake
# Each file becomes {"<name>", R"lua(<the file, byte for byte>)lua"} in verikit's table
# verikit::detail::scripts::lua::kFiles; core/src/store/redis_scripts.cpp builds the scripts from it.
foreach(var DIR NAMES OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_lua.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "," ";" names "${NAMES}")

set(out "// Generated at build time by core/cmake/embed_lua.cmake from core/src/store/lua/*.lua.\n")
string(APPEND out "// Do not edit: edit the .lua files.\n#pragma once\n\n#include <string_view>\n\n")
string(APPEND out "namespace verikit::detail::scripts::lua {\n\nstruct File {\n")
string(APPEND out "  std::string_view name;\n  std::string_view text;\n};\n\ninline constexpr File kFiles[] = {\n")
foreach(name IN LISTS names)
  set(path "${DIR}/${name}.lua")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "embed_lua.cmake: ${path} does not exist")
  endif()
  file(READ "${path}" text)
  string(FIND "${text}" ")lua\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "embed_lua.cmake: ${path} contains )lua\" which ends the raw string it is embedded in")
  endif()
  string(APPEND out "    {\"${name}\", R\"lua(${text})lua\"},\n")
endforeach()
string(APPEND out "};\n\n}  // namespace verikit::detail::scripts::lua\n")
file(WRITE "${OUT}" "${out}")
