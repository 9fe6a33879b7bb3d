# Toolchain for the Windows build: 64-bit Windows executables from Debian's
# mingw-w64, run under wine (CMAKE_CROSSCOMPILING_EMULATOR) for tests and
# for build-time helper programs. The libraries come from the prefix that
# installer/windows-deps.sh builds (TESSERA_DEPS_PREFIX).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(TESSERA_MINGW x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${TESSERA_MINGW}-gcc)
set(CMAKE_CXX_COMPILER ${TESSERA_MINGW}-g++)
set(CMAKE_RC_COMPILER ${TESSERA_MINGW}-windres)

if(NOT TESSERA_DEPS_PREFIX AND DEFINED ENV{TESSERA_DEPS_PREFIX})
  set(TESSERA_DEPS_PREFIX $ENV{TESSERA_DEPS_PREFIX})
endif()
set(TESSERA_DEPS_PREFIX "${TESSERA_DEPS_PREFIX}" CACHE PATH
    "Prefix with the Windows builds of the dependencies")

set(CMAKE_FIND_ROOT_PATH /usr/${TESSERA_MINGW} ${TESSERA_DEPS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must see only the Windows libraries.
set(ENV{PKG_CONFIG_LIBDIR} "${TESSERA_DEPS_PREFIX}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Everything is linked statically, so an .exe needs no DLL beside it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")

set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/wine-run)
