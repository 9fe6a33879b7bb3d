#!/usr/bin/env bash
# Build the libraries of Tessera's Windows build from Debian's source
# packages, cross-compiled with mingw-w64 for x86_64-w64-mingw32, into a
# prefix cached outside the work tree.
#
#   bash installer/windows-deps.sh        prints the prefix on its last line
#
# The prefix is keyed by the source tarballs (their names carry the Debian
# versions), this script and the toolchain file: a second run with the same
# key only prints the prefix; a fresh machine, or a new package version,
# rebuilds from scratch. Everything is built as static libraries, so the
# .exe files need no DLLs beside them.
#
# Sources come from `apt-get source` against a deb-src entry that mirrors
# the machine's deb entry. The mirror may lack a package's Debian packaging
# tarball (criterion, boxfort, nanomsg, the security pcre2 .dsc); the orig
# tarballs are used, which is what Tessera needs: upstream code plus the
# minimal fixes in installer/windows-deps-patches.py, each with its reason.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TESSERA_CACHE:-/var/cache/tessera-build}
src=$cache/src
host=x86_64-w64-mingw32
jobs=$(nproc)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

log() { printf 'windows-deps: %s\n' "$*" >&2; }
die() { printf 'windows-deps: error: %s\n' "$*" >&2; exit 1; }

# --- host tools -----------------------------------------------------------
bash "$here/installer/deps-debian.sh" mingw-w64 wine wine64 meson dpkg-dev \
  debugbreak xz-utils bzip2 autoconf automake libtool tcl >&2

# --- deb-src entries: same URIs and suites as the deb entries --------------
bash "$here/installer/deb-src.sh" >&2

# --- sources ----------------------------------------------------------------
# source package -> glob of its orig tarball
declare -A orig=(
  [apr]='apr_*.orig.tar.*'
  [pcre2]='pcre2_*.orig.tar.*'
  [jansson]='jansson_*.orig.tar.*'
  [libxml2]='libxml2_*.orig.tar.*'
  [nanomsg]='nanomsg_*.orig.tar.*'
  [nanopb]='nanopb_*.orig.tar.*'
  [boxfort]='boxfort_*.orig.tar.*'
  [criterion]='criterion_*.orig.tar.*'
  [libmicrohttpd]='libmicrohttpd_*.orig.tar.*'
  [libsodium]='libsodium_*.orig.tar.*'
  [sqlite3]='sqlite3_*.orig.tar.xz'
  [mosquitto]='mosquitto_*.orig.tar.gz'
  [curl]='curl_*.orig.tar.gz'
  [gettext]='gettext_*.orig.tar.xz'
  [libuv1]='libuv1_*.orig.tar.gz'
)
packages=(apr pcre2 jansson libxml2 nanomsg nanopb boxfort criterion libmicrohttpd
          libsodium sqlite3 mosquitto curl gettext libuv1)
mkdir -p "$src"
chmod 755 "$cache" "$src"
for p in "${packages[@]}"; do
  if ! compgen -G "$src/${orig[$p]}" >/dev/null; then
    log "apt-get source $p"
    # Partial failures (a missing .debian.tar.xz) are expected: only the
    # orig tarball is needed, and it is checked below.
    (cd "$src" && apt-get source --download-only -qq "$p" >/dev/null 2>&1) || true
    compgen -G "$src/${orig[$p]}" >/dev/null \
      || die "apt-get source $p did not fetch its orig tarball into $src"
  fi
done
# klib's khash.h and kvec.h (a Criterion submodule, not packaged on its
# own): from Debian's libslow5-dev, which ships an unmodified copy in
# /usr/include/slow5/klib (minimap2's copy needs its kalloc.h).
if ! compgen -G "$src/libslow5-dev_*.deb" >/dev/null; then
  (cd "$src" && apt-get download -qq libslow5-dev >/dev/null 2>&1) \
    || die "apt-get download libslow5-dev failed (needed for klib headers)"
fi

key=$( { for p in "${packages[@]}"; do ls "$src"/${orig[$p]}; done
         ls "$src"/libslow5-dev_*.deb
         cat "$0" "$here/installer/windows-deps-patches.py" \
             "$here/cmake/mingw-w64.cmake"; } | sha256sum | cut -c1-12)
prefix=$cache/mingw64-$key
if [ -f "$prefix/.complete" ]; then
  log "cached: $prefix"
  echo "$prefix"
  exit 0
fi

work=$cache/work-$key
rm -rf "$work" "$prefix"
mkdir -p "$work" "$prefix/lib/pkgconfig" "$prefix/include"
log "building into $prefix (work: $work)"
started=$(date +%s)

unpack() {  # package -> prints the unpacked directory
  local tarball dir
  tarball=$(ls "$src"/${orig[$1]} | grep -v '\.asc$' | head -1)
  dir=$work/$1
  mkdir -p "$dir"
  tar -xf "$tarball" -C "$dir" --strip-components=1
  echo "$dir"
}

cmake_build() {  # srcdir [cmake args...]
  local dir=$1; shift
  cmake -S "$dir" -B "$dir/_build" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$here/cmake/mingw-w64.cmake" \
    -DTESSERA_DEPS_PREFIX="$prefix" \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=Release \
    "$@" >"$dir/_configure.log" 2>&1 \
    || { tail -30 "$dir/_configure.log"; die "configure of $dir failed"; }
  ninja -C "$dir/_build" -j "$jobs" >"$dir/_build.log" 2>&1 \
    || { grep -E 'error|FAILED' "$dir/_build.log" | head -30; die "build of $dir failed"; }
  ninja -C "$dir/_build" install >/dev/null
}

pcfile() {  # name version cflags libs
  cat >"$prefix/lib/pkgconfig/$1.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: $1
Description: $1 for $host (built by Tessera's windows-deps.sh)
Version: $2
Cflags: -I\${includedir} $3
Libs: -L\${libdir} $4
EOF
}

version() {  # package -> upstream version from its orig tarball name
  ls "$src"/${orig[$1]} | grep -v '\.asc$' | head -1 \
    | sed -E 's/^.*_([^_]*)\.orig\.tar\..*$/\1/; s/\+dfsg.*//'
}

export WINEPREFIX=${WINEPREFIX:-$cache/wineprefix}
export WINEDEBUG=-all

# --- APR ------------------------------------------------------------------
# Its autotools configure cannot pick a printf format for mingw64's 64-bit
# ssize_t; its CMake build works with the fixes in windows-deps-patches.py.
build_apr() {
  local d; d=$(unpack apr)
  python3 "$here/installer/windows-deps-patches.py" apr "$d"
  # HAVE_ATOMIC_BUILTINS*: see windows-deps-patches.py.
  cmake_build "$d" "-DCMAKE_C_FLAGS=-DHAVE_ATOMIC_BUILTINS=1 -DHAVE_ATOMIC_BUILTINS64=1"
  # The CMake build installs no pkg-config file; static use needs
  # APR_DECLARE_STATIC.
  pcfile apr-1 "$(version apr)" "-DAPR_DECLARE_STATIC" \
    "-lapr-1 -lws2_32 -lmswsock -lrpcrt4 -liphlpapi -ladvapi32 -lshell32"
}

# --- PCRE2, jansson: their CMake builds work as they are -------------------
build_pcre2() {
  local d; d=$(unpack pcre2)
  cmake_build "$d" -DBUILD_SHARED_LIBS=OFF -DPCRE2_BUILD_TESTS=OFF \
    -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_SUPPORT_JIT=OFF
  # Static use needs PCRE2_STATIC, which the generated .pc omits.
  pcfile libpcre2-8 "$(version pcre2)" "-DPCRE2_STATIC" "-lpcre2-8"
}

build_jansson() {
  local d; d=$(unpack jansson)
  cmake_build "$d" -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
    -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
}

# --- libxml2 ----------------------------------------------------------------
build_libxml2() {
  local d; d=$(unpack libxml2)
  # Win32 threads, not mingw's winpthreads: hide pthread.h from both
  # FindThreads and libxml2's own check, so threads.c takes its
  # HAVE_WIN32_THREADS branch and nothing links libwinpthread.
  cmake_build "$d" -DBUILD_SHARED_LIBS=OFF -DLIBXML2_WITH_PYTHON=OFF \
    -DLIBXML2_WITH_LZMA=OFF -DLIBXML2_WITH_ZLIB=OFF -DLIBXML2_WITH_ICONV=OFF \
    -DLIBXML2_WITH_TESTS=OFF -DLIBXML2_WITH_PROGRAMS=OFF \
    -DLIBXML2_WITH_THREADS=ON -DCMAKE_HAVE_PTHREAD_H=OFF -DHAVE_PTHREAD_H=OFF
  # The generated .pc lists -lpthread; static use needs ws2_32.
  pcfile libxml-2.0 "$(version libxml2)" '-I${includedir}/libxml2 -DLIBXML_STATIC' \
    "-lxml2 -lws2_32"
}

# --- libmicrohttpd: its autotools build works as it is ----------------------
build_libmicrohttpd() {
  local d; d=$(unpack libmicrohttpd)
  (cd "$d" && ./configure --host=$host --prefix="$prefix" --enable-static \
     --disable-shared --disable-doc --disable-examples --disable-curl \
     --disable-https --without-gnutls --disable-nls \
     --enable-itc=socketpair >"$d/_configure.log" 2>&1) \
    || { tail -30 "$d/_configure.log"; die "configure of libmicrohttpd failed"; }
  make -C "$d" -j "$jobs" >"$d/_build.log" 2>&1 \
    || { grep -E 'error' "$d/_build.log" | head -30; die "build of libmicrohttpd failed"; }
  make -C "$d" install >/dev/null 2>&1
  # Static use needs Winsock.
  pcfile libmicrohttpd "$(version libmicrohttpd)" "" "-lmicrohttpd -lws2_32"
}

# --- libsodium: Debian's orig tarball is the git tree, without configure --
build_libsodium() {
  local d; d=$(unpack libsodium)
  (cd "$d" && ./autogen.sh -s >"$d/_autogen.log" 2>&1 \
     && ./configure --host=$host --prefix="$prefix" --enable-static \
          --disable-shared >"$d/_configure.log" 2>&1) \
    || { tail -30 "$d/_configure.log" "$d/_autogen.log"; die "configure of libsodium failed"; }
  make -C "$d" -j "$jobs" >"$d/_build.log" 2>&1 \
    || { grep -E 'error' "$d/_build.log" | head -30; die "build of libsodium failed"; }
  make -C "$d" install >/dev/null 2>&1
  # Static use needs SODIUM_STATIC (no dllimport).
  pcfile libsodium "$(version libsodium)" "-DSODIUM_STATIC" "-lsodium"
}

# --- SQLite: its configure takes a mingw host for Unix (SQLITE_OS_UNIX) and
# runs the build tools it compiled for Windows; so it only generates the
# amalgamation here (tools built with the host's gcc, BEXE empty), which is
# then compiled for Windows directly. ------------------------------------------
build_sqlite3() {
  local d; d=$(unpack sqlite3)
  (cd "$d" && ./configure --disable-tcl --disable-readline \
     >"$d/_configure.log" 2>&1 && make BCC=gcc BEXE= sqlite3.c sqlite3.h \
     >"$d/_build.log" 2>&1) \
    || { tail -30 "$d/_build.log"; die "generating the SQLite amalgamation failed"; }
  $host-gcc -O2 -DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION \
    -c "$d/sqlite3.c" -o "$d/sqlite3.o" || die "compiling sqlite3.c failed"
  $host-ar rcs "$prefix/lib/libsqlite3.a" "$d/sqlite3.o"
  cp "$d/sqlite3.h" "$d/sqlite3ext.h" "$prefix/include/"
  pcfile sqlite3 "$(version sqlite3)" "" "-lsqlite3"
}

# --- mosquitto: the client library (the bus client) and the broker
# (bin/mosquitto.exe, the bus the Windows tests run), without TLS (the bus
# listens on the configured addresses of a trusted network, SPEC §1) and
# without the library's own threads: Tessera gives the client to one
# thread of its own (ts_bus.c), so nothing needs pthreads on Windows. -----
build_mosquitto() {
  local d; d=$(unpack mosquitto)
  cmake_build "$d" -DWITH_TLS=OFF -DWITH_THREADING=OFF \
    -DWITH_STATIC_LIBRARIES=ON -DWITH_BROKER=ON -DWITH_APPS=OFF \
    -DWITH_CLIENTS=OFF -DWITH_PLUGINS=OFF -DDOCUMENTATION=OFF \
    -DWITH_LIB_CPP=OFF -DWITH_CJSON=OFF -DWITH_UNIX_SOCKETS=OFF \
    -DWITH_WEBSOCKETS=OFF
  [ -f "$prefix/sbin/mosquitto.exe" ] && mv "$prefix/sbin/mosquitto.exe" "$prefix/bin/"
  [ -f "$prefix/bin/mosquitto.exe" ] || die "the mosquitto broker was not installed into $prefix/bin"
  # Static use needs LIBMOSQUITTO_STATIC (no dllimport) and Winsock.
  rm -f "$prefix/lib/libmosquitto.dll.a" "$prefix/bin/libmosquitto.dll"
  pcfile libmosquitto "$(version mosquitto)" "-DLIBMOSQUITTO_STATIC" \
    "-lmosquitto_static -lws2_32"
}

# --- libcurl (the HTTP client, and the notification service's mail):
# HTTP and SMTP, STARTTLS through Windows' own TLS (Schannel), no
# compression, the synchronous resolver (so no pthreads), static. -------------
build_curl() {
  local d; d=$(unpack curl)
  python3 "$here/installer/windows-deps-patches.py" curl "$d"
  cmake_build "$d" -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF \
    -DBUILD_TESTING=OFF -DHTTP_ONLY=OFF -DCURL_ENABLE_SSL=ON \
    -DCURL_USE_SCHANNEL=ON -DCURL_USE_OPENSSL=OFF \
    -DCURL_DISABLE_FTP=ON -DCURL_DISABLE_FILE=ON -DCURL_DISABLE_TELNET=ON \
    -DCURL_DISABLE_DICT=ON -DCURL_DISABLE_TFTP=ON -DCURL_DISABLE_RTSP=ON \
    -DCURL_DISABLE_POP3=ON -DCURL_DISABLE_IMAP=ON -DCURL_DISABLE_GOPHER=ON \
    -DCURL_DISABLE_MQTT=ON -DCURL_DISABLE_SMB=ON -DCURL_DISABLE_LDAP=ON \
    -DCURL_DISABLE_LDAPS=ON \
    -DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF -DUSE_LIBIDN2=OFF \
    -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DENABLE_IPV6=ON \
    -DENABLE_THREADED_RESOLVER=OFF
  # Static use needs CURL_STATICLIB (no dllimport); the generated .pc
  # lists the toolchain's runtime libraries.
  pcfile libcurl "$(version curl)" "-DCURL_STATICLIB" \
    "-lcurl -lws2_32 -lcrypt32 -lbcrypt -ladvapi32 -lwinmm -lsecur32"
}

# --- libuv (the proxy's and the notification service's event loop, IOCP
# on Windows), static. --------------------------------------------------------
build_libuv() {
  local d; d=$(unpack libuv1)
  cmake_build "$d" -DLIBUV_BUILD_SHARED=OFF -DLIBUV_BUILD_TESTS=OFF \
    -DLIBUV_BUILD_BENCH=OFF
  # the static library's name differs by version: libuv_a.a or libuv.a
  local lib=uv_a
  [ -f "$prefix/lib/libuv_a.a" ] || lib=uv
  [ -f "$prefix/lib/lib$lib.a" ] || die "libuv was not installed into $prefix/lib"
  rm -f "$prefix/lib/pkgconfig/libuv.pc" "$prefix/lib/pkgconfig/libuv-static.pc"
  pcfile libuv "$(version libuv1)" "" \
    "-l$lib -lws2_32 -liphlpapi -luserenv -ldbghelp -lole32 -lshell32 -luuid"
}

# --- libintl (INOLANG's message catalogs): gettext-runtime's intl alone,
# static, without iconv (the catalogs are UTF-8 and so is the output). ------
build_gettext() {
  local d; d=$(unpack gettext)
  (cd "$d/gettext-runtime" && ./configure --host=$host --prefix="$prefix" \
     --enable-static --disable-shared --disable-java --disable-csharp \
     --disable-libasprintf --disable-c++ --disable-openmp --disable-curses \
     --without-libiconv-prefix --with-included-gettext am_cv_func_iconv=no \
     >"$d/_configure.log" 2>&1) \
    || { tail -30 "$d/_configure.log"; die "configure of gettext-runtime failed"; }
  make -C "$d/gettext-runtime/intl" -j "$jobs" >"$d/_build.log" 2>&1 \
    || { grep -E 'error' "$d/_build.log" | head -30; die "build of libintl failed"; }
  make -C "$d/gettext-runtime/intl" install >/dev/null 2>&1
  [ -f "$prefix/lib/libintl.a" ] && [ -f "$prefix/include/libintl.h" ] \
    || die "libintl was not installed into $prefix"
}

# --- Criterion and what it needs -------------------------------------------
build_nanomsg() {
  local d; d=$(unpack nanomsg)
  cmake_build "$d" -DNN_TESTS=OFF -DNN_TOOLS=OFF -DNN_STATIC_LIB=ON \
    -DNN_ENABLE_DOC=OFF -DNN_ENABLE_GETADDRINFO_A=OFF
  # A static nanomsg must be compiled against with NN_STATIC_LIB, or its
  # functions are declared dllimport.
  pcfile nanomsg "$(version nanomsg)" "-DNN_STATIC_LIB" \
    "-lnanomsg -lws2_32 -lmswsock -ladvapi32"
}

write_meson_cross() {
  cat >"$1" <<CROSS
[binaries]
c = '$host-gcc'
cpp = '$host-g++'
ar = '$host-ar'
strip = '$host-strip'
windres = '$host-windres'
pkgconfig = 'pkg-config'
cmake = 'cmake'
exe_wrapper = '$here/cmake/wine-run'

[properties]
pkg_config_libdir = '$prefix/lib/pkgconfig'
cmake_toolchain_file = '$here/cmake/mingw-w64.cmake'
cmake_defaults = false

[cmake]
TESSERA_DEPS_PREFIX = '$prefix'

[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'
CROSS
}

build_criterion() {
  local d; d=$(unpack criterion)
  # Its git submodules are empty in the orig tarball:
  #  - klib (khash.h, kvec.h) from Debian's libslow5-dev;
  #  - debugbreak.h from Debian's debugbreak package.
  local k=$work/klib
  mkdir -p "$k"
  dpkg-deb -x "$(ls "$src"/libslow5-dev_*.deb | head -1)" "$k"
  cp "$k"/usr/include/slow5/klib/khash.h "$k"/usr/include/slow5/klib/kvec.h \
    "$d/dependencies/klib/"
  cp /usr/include/debugbreak.h "$d/dependencies/debugbreak/"
  # Its meson subprojects come from Debian's orig tarballs, not from git.
  # nanopb stays a subproject (it is not installed in the prefix), so
  # Criterion uses its own pre-generated protocol code: with nanopb found in
  # the prefix it regenerates that code with the host's protoc-gen-nanopb,
  # and that build crashed in pb_encode under wine.
  mkdir -p "$d/subprojects/boxfort" "$d/subprojects/nanopb"
  tar -xf "$(ls "$src"/${orig[boxfort]} | head -1)" -C "$d/subprojects/boxfort" \
    --strip-components=1
  tar -xf "$(ls "$src"/${orig[nanopb]} | head -1)" -C "$d/subprojects/nanopb" \
    --strip-components=1
  python3 "$here/installer/windows-deps-patches.py" criterion "$d"
  write_meson_cross "$work/meson-cross.txt"
  meson setup "$d/_build" "$d" --cross-file "$work/meson-cross.txt" \
    --prefix "$prefix" --wrap-mode=nodownload -Ddefault_library=static \
    -Dtests=false -Dsamples=false -Dtheories=disabled -Ddiffs=disabled \
    -Di18n=disabled -Dcxx-support=disabled >"$d/_configure.log" 2>&1 \
    || { tail -30 "$d/_configure.log"; die "meson setup of criterion failed"; }
  ninja -C "$d/_build" -j "$jobs" >"$d/_build.log" 2>&1 \
    || { grep -E 'error|FAILED' "$d/_build.log" | head -30; die "build of criterion failed"; }
  ninja -C "$d/_build" install >/dev/null
  # Static only: the import library beside libcriterion.a would win.
  rm -f "$prefix/lib/libcriterion.dll.a" "$prefix/bin/libcriterion-3.dll"
  pcfile criterion "$(version criterion)" "-DCRITERION_STATIC" \
    "-lcriterion -lprotobuf_nanopb_static -lnanomsg -lws2_32 -lmswsock -ladvapi32 -lpsapi"
}

build_apr
build_pcre2
build_jansson
build_libxml2
build_libmicrohttpd
build_libsodium
build_sqlite3
build_mosquitto
build_curl
build_libuv
build_gettext
build_nanomsg
build_criterion
rm -rf "$work"

touch "$prefix/.complete"
# Prefixes of older keys are of no further use.
for old in "$cache"/mingw64-*; do
  [ "$old" = "$prefix" ] || rm -rf "$old"
done
log "done in $(( $(date +%s) - started )) s: $prefix"
echo "$prefix"
