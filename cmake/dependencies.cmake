# Third-party libraries, found through pkg-config on Linux and in the
# mingw-w64 prefix (TESSERA_DEPS_PREFIX) for the Windows build.
find_package(PkgConfig REQUIRED)

pkg_check_modules(APR REQUIRED IMPORTED_TARGET apr-1>=1.7)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
# The event loop of the servers that hold many connections (proxy,
# notification service): epoll on Linux, IOCP on Windows.
pkg_check_modules(UV REQUIRED IMPORTED_TARGET libuv>=1.44)
# Messages in the language INOLANG names: GNU gettext (glibc's on Linux,
# libintl built from Debian's gettext source for Windows), catalogs
# compiled with msgfmt (Debian's gettext package, on the build machine).
find_package(Intl REQUIRED)
find_program(MSGFMT msgfmt REQUIRED)
if(TESSERA_TESTS)
  pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)
endif()
