#!/usr/bin/env python3
"""The minimal fixes that let Debian's sources cross-build for Windows with
mingw-w64 and run under wine, one function per package, each fix with its
reason. Called by windows-deps.sh as: windows-deps-patches.py PACKAGE DIR.

Every fix asserts that the text it replaces is there, so a new upstream
version fails loudly instead of building something unpatched."""
import re
import sys


def patch(d, path, old, new, why, regex=False):
    p = f"{d}/{path}"
    s = open(p).read()
    s2 = re.sub(old, new, s, count=1) if regex else s.replace(old, new, 1)
    if s2 == s:
        sys.exit(f"windows-deps-patches: {path}: text to patch not found ({why})")
    open(p, "w").write(s2)


def apr(d):
    # The build runs the gen_test_char it just compiled: name the target,
    # not its file, so CMake runs it through the emulator (wine).
    patch(d, "CMakeLists.txt", "COMMAND $<TARGET_FILE:gen_test_char> >",
          "COMMAND gen_test_char >", "gen_test_char under wine")
    # apr.h defines NOUSER before windows.h; mingw-w64's objidl.h (pulled
    # in through winsock2.h) then lacks CLIPFORMAT, LPMSG and friends.
    patch(d, "include/apr.hwc", "#ifndef NOUSER\n#define NOUSER\n#endif\n", "",
          "NOUSER")
    # The __wtypes_h__ trick around accctrl.h hides types mingw needs.
    patch(d, "include/arch/win32/apr_private.h",
          "#ifdef __wtypes_h__\n#include <accctrl.h>\n#else\n#define __wtypes_h__\n"
          "#include <accctrl.h>\n#undef __wtypes_h__\n#endif",
          "#include <accctrl.h>", "__wtypes_h__")
    # "ShellAPI.h" has the wrong case for a case-sensitive file system.
    patch(d, "misc/win32/apr_app.c", '#include "ShellAPI.h"',
          "#include <shellapi.h>", "ShellAPI.h case")
    # iphlpapi.h is included for MSVC only; mingw needs it too (for
    # if_nametoindex, and IF_NAMESIZE in sockaddr.c); link iphlpapi.
    patch(d, "include/arch/win32/apr_arch_misc.h",
          "#if defined(HAVE_IF_INDEXTONAME) && defined(_MSC_VER)\n#include <Iphlpapi.h>",
          "#if defined(HAVE_IF_INDEXTONAME)\n#include <iphlpapi.h>", "iphlpapi.h")
    patch(d, "network_io/unix/sockaddr.c", '#include "apr_arch_networkio.h"\n',
          '#include "apr_arch_networkio.h"\n#ifdef _WIN32\n#include <iphlpapi.h>\n#endif\n',
          "IF_NAMESIZE")
    patch(d, "CMakeLists.txt", "  rpcrt4\n)", "  rpcrt4\n  iphlpapi\n)",
          "link iphlpapi")
    # windres rejects the token pasting in APR_VERSION_STRING_CSV.
    patch(d, "include/apr_version.h",
          r"APR_MAJOR_VERSION ##, \\\n\s*##APR_MINOR_VERSION ##, \\\n\s*##APR_PATCH_VERSION",
          "APR_MAJOR_VERSION, APR_MINOR_VERSION, APR_PATCH_VERSION",
          "windres token pasting", regex=True)
    # (The 64-bit atomics: windows-deps.sh compiles with
    # HAVE_ATOMIC_BUILTINS=1 and HAVE_ATOMIC_BUILTINS64=1; without them the
    # shared atomic header picks the generic 64-bit atomics, whose code the
    # win32 build does not compile: undefined apr__atomic_generic64_init.)


def criterion(d):
    # BoxFort 0.1.2 lacks the debugger-fallback API that Criterion 2.4.1
    # uses (Debian's libboxfort-dev carries it in boxfort.h).
    patch(d, "subprojects/boxfort/include/boxfort.h",
          "    BXF_DBG_WINDBG, /* Spawn with windbg (Windows only) */\n",
          "    BXF_DBG_WINDBG, /* Spawn with windbg (Windows only) */\n"
          "    BXF_DBG_FALLBACK = 0x20, /* fallback to suspended sandbox */\n",
          "debugger fallback")
    patch(d, "subprojects/boxfort/include/boxfort.h",
          "#if defined (__clang__)\n# define BXF_DBG_NATIVE",
          "#define BXF_DBG_ENABLE_FALLBACK(debugger) (debugger |= BXF_DBG_FALLBACK)\n"
          "#define BXF_DBG_IS_FALLBACK_ENABLED(debugger) (debugger & BXF_DBG_FALLBACK)\n"
          "#define BXF_DBG_GET_DEBUGGER(debugger) (debugger & ~BXF_DBG_FALLBACK)\n\n"
          "#if defined (__clang__)\n# define BXF_DBG_NATIVE",
          "debugger fallback macros")
    # BoxFort sizes the worker's command line by the executable's path
    # instead of by the shared-memory name it carries: with wine's short
    # paths (Z:\tmp\x.exe) the name is cut off and every worker aborts
    # ("Could not spawn test instance: No child processes").
    patch(d, "subprojects/boxfort/src/sandbox-windows.c",
          "SIZE_T size    = _sctprintf(fmt, filename, env_map);",
          "SIZE_T size    = _sctprintf(fmt, env_map) + 1;",
          "worker command line size")
    # Criterion's headers always declare its API dllimport on Windows; a
    # static libcriterion needs plain declarations: CRITERION_STATIC.
    patch(d, "include/criterion/internal/common.h",
          "#if defined _WIN32 || defined __CYGWIN__\n# ifdef CRITERION_BUILDING_DLL",
          "#if (defined _WIN32 || defined __CYGWIN__) && defined CRITERION_STATIC\n"
          "# define CR_API\n# define CR_LOCAL\n"
          "#elif defined _WIN32 || defined __CYGWIN__\n# ifdef CRITERION_BUILDING_DLL",
          "static linking")


def curl(d):
    # curl 7.88.1 connects a socket the CURLOPT_SOCKOPTFUNCTION called
    # already connected (CURL_SOCKOPT_ALREADY_CONNECTED) once more, and
    # Windows answers WSAEISCONN: "Immediate connect fail ... Socket is
    # already connected". Tessera's HTTP client connects through the
    # platform's table (tsp_sys.socket_connect) and hands curl the socket.
    # Stop after opening it when it is connected, as later curl does.
    patch(d, "lib/cf-socket.c",
          "    result = cf_socket_open(cf, data);\n    if(result)\n"
          "      goto out;\n\n    /* Connect TCP socket */",
          "    result = cf_socket_open(cf, data);\n    if(result)\n"
          "      goto out;\n\n    if(cf->connected) {\n      *done = TRUE;\n"
          "      return CURLE_OK;\n    }\n\n    /* Connect TCP socket */",
          "an already connected socket")


if __name__ == "__main__":
    {"apr": apr, "criterion": criterion, "curl": curl}[sys.argv[1]](
        sys.argv[2])
