#!/bin/sh
# static-deps.sh: build OpenSSL, libcurl, libyaml and cJSON as static musl libraries from
# Debian bookworm's patched sources into OUTDIR/{include,lib}. Idempotent: a library whose
# stamp matches (pinned version + this script's hash) is not rebuilt. See docs/static-build.md.
#
# usage: DEB_OPENSSL_VERSION=... DEB_CURL_VERSION=... DEB_LIBYAML_VERSION=... \
#        DEB_CJSON_VERSION=... [DEB_MUSL_VERSION=...] [ARCH=x86_64|aarch64] [JOBS=n] \
#        scripts/static-deps.sh OUTDIR
# The versions are pinned in mk/static.mk (`make static-deps` passes them in). ARCH (default:
# this machine's) other than this machine's cross-compiles with Debian's cross gcc
# (gcc-ARCH-linux-gnu) and a musl built from Debian's source package (DEB_MUSL_VERSION) into
# OUTDIR/musl, whose gcc wrapper OUTDIR/musl/bin/musl-gcc then compiles everything.
set -eu

die() {
    printf 'static-deps: error: %s\n' "$*" >&2
    exit 1
}
say() {
    printf 'static-deps: %s\n' "$*"
}

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
: "${DEB_OPENSSL_VERSION:?pin it in mk/static.mk}"
: "${DEB_CURL_VERSION:?pin it in mk/static.mk}"
: "${DEB_LIBYAML_VERSION:?pin it in mk/static.mk}"
: "${DEB_CJSON_VERSION:?pin it in mk/static.mk}"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

HOST_ARCH=$(uname -m)
ARCH=${ARCH:-$HOST_ARCH}
case $ARCH in
x86_64) openssl_target=linux-x86_64 deb_arch=amd64 ;;
aarch64) openssl_target=linux-aarch64 deb_arch=arm64 ;;
*) die "unsupported ARCH $ARCH (x86_64 or aarch64)" ;;
esac
if [ "$ARCH" = "$HOST_ARCH" ]; then
    CROSS=""
else
    # Debian's cross toolchain: gcc-aarch64-linux-gnu, gcc-x86-64-linux-gnu.
    CROSS=$ARCH-linux-gnu
    : "${DEB_MUSL_VERSION:?pin it in mk/static.mk (a cross build compiles musl)}"
fi

# sha256 of every file we trust from the mirror. The .dsc lists (and dpkg-source -x checks)
# the debian.tar.xz; the orig tarballs are checked here too. A bump needs new lines here:
# `apt-get source --download-only PKG=VER`, then `sha256sum *.dsc *.orig.tar.*`.
pinned_sha256() {
    case $1 in
    openssl_3.0.20-1~deb12u2.dsc)
        echo a614474a2773c23b10c0d65f4eccbcf93fdac4749afb7c26d76e1b0340154d3d ;;
    openssl_3.0.20.orig.tar.gz)
        echo c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f ;;
    curl_7.88.1-10+deb12u15.dsc)
        echo 2744f12e3aef161c0361743fa1b318296b122e566e47f381e4a63320fbcc23f4 ;;
    curl_7.88.1.orig.tar.gz)
        echo cdb38b72e36bc5d33d5b8810f8018ece1baa29a8f215b4495e495ded82bbf3c7 ;;
    libyaml_0.2.5-1.dsc)
        echo 1edbf86e5cd76937ff62892ba6c2537456d645d834d4cd4a82430b8be7051bf4 ;;
    libyaml_0.2.5.orig.tar.gz)
        echo fa240dbf262be053f3898006d502d514936c818e422afdcf33921c63bed9bf2e ;;
    cjson_1.7.15-1+deb12u4.dsc)
        echo 764c2de141d680f4fb4cada30c526dacaa30ead061b9b9c34f2b81e2df0f8439 ;;
    cjson_1.7.15.orig.tar.gz)
        echo 5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2 ;;
    musl_1.2.3-1.dsc)
        echo 243a7462e9c751da662c4c61d4c96b6318c796ba302b72f6cdf74ea5427a9b4f ;;
    musl_1.2.3.orig.tar.gz)
        echo 7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4 ;;
    *)
        echo "" ;;
    esac
}

# OpenSSL: TLS 1.2/1.3, RSA/ECDSA, ECDHE, AES-GCM, SHA-2 is all AWS needs. Error strings stay
# (without them: "error:0A00042E:lib(20)::reason(1070)"). The last line (not in the
# prototype): file:line in error records, CMP, AES-SIV, NPN, SSL_trace; -65 KB together.
OPENSSL_OPTS="no-shared no-tests no-engine no-dso no-async no-afalgeng no-deprecated
no-legacy no-ssl3 no-tls1 no-tls1_1 no-dtls no-srp no-comp no-cms no-ts no-ocsp no-ct no-srtp
no-idea no-seed no-rc2 no-rc4 no-md4 no-mdc2 no-whirlpool no-bf no-cast no-camellia no-aria
no-sm2 no-sm3 no-sm4 no-siphash no-ec2m no-gost no-des no-dsa no-dh no-scrypt no-blake2
no-rmd160 no-ocb no-cmac no-poly1305 no-chacha no-ui-console no-autoload-config
no-filenames no-cmp no-siv no-nextprotoneg no-ssl-trace"
# Baked into libcrypto as OPENSSLDIR/ENGINESDIR/MODULESDIR: a path that exists in no image,
# so no openssl.cnf, cert dir or module is ever read from the image.
OPENSSL_PREFIX=/nonexistent-injector-ssl

# curl: HTTP(S) only. Kept: proxy, verbose strings, threaded resolver, crypto-auth (SigV4).
CURL_OPTS="--disable-shared --enable-static --disable-dependency-tracking
--without-ca-bundle --without-ca-path --without-ca-fallback --disable-openssl-auto-load-config
--disable-ldap --disable-ldaps --disable-ftp --disable-file --disable-rtsp --disable-dict
--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp
--disable-gopher --disable-mqtt --disable-manual --disable-cookies --disable-hsts --disable-doh
--disable-mime --disable-netrc --disable-progress-meter --disable-dateparse
--disable-headers-api --disable-tls-srp --disable-socketpair --disable-alt-svc --disable-ntlm
--disable-ntlm-wb --disable-websockets --disable-unix-sockets
--enable-proxy --enable-verbose --enable-threaded-resolver --enable-crypto-auth --enable-ipv6
--without-zlib --without-brotli --without-zstd --without-libpsl --without-nghttp2
--without-libidn2 --without-libssh2 --without-librtmp --without-hyper --without-libgsasl
--without-gssapi"

# Size flags (pair with the final link's --gc-sections); no unwind tables (.eh_frame was 10%
# of the binary; C on musl never unwinds: only debuggers and profilers read it); and the stack
# hardening Debian's own builds of these libraries get from dpkg-buildflags (+49 KB).
DEP_CFLAGS="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables"
DEP_CFLAGS="$DEP_CFLAGS -fno-unwind-tables -fstack-protector-strong -fstack-clash-protection"

# A clean, predictable environment: nothing from the caller's make or shell leaks into
# configure (a top-level Makefile exporting CFLAGS=-Werror would break curl's checks).
unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS LIBS CC CXX CPP AR ARFLAGS RANLIB AS ASFLAGS \
    CROSS_COMPILE PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR OPENSSL_CONF \
    MAKEFLAGS MFLAGS MAKELEVEL GNUMAKEFLAGS C_INCLUDE_PATH CPATH LIBRARY_PATH || true
export LC_ALL=C TZ=UTC
umask 022

mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SRC=$OUT/src
BLD=$OUT/build
LOG=$OUT/log
mkdir -p "$SRC" "$BLD" "$LOG" "$OUT/include" "$OUT/lib" "$OUT/tools"

if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9
fi

SELF_HASH=$(sha256sum "$0" | cut -c1-16)

# ---- host prerequisites -------------------------------------------------------------------

APT_UPDATED=0
apt_update() {
    if [ "$APT_UPDATED" = 0 ]; then
        say "apt-get update"
        apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
}

need_root() {
    [ "$(id -u)" = 0 ] || die "$* (needs root; run once as root or do it by hand)"
}

has_deb_src() {
    grep -qsE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources && return 0
    grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list \
        /etc/apt/sources.list.d/*.list && return 0
    return 1
}

ensure_deb_src() {
    has_deb_src && return 0
    need_root "no deb-src entry in /etc/apt/sources.list*"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            >/etc/apt/sources.list.d/debian-src.sources
        say "added /etc/apt/sources.list.d/debian-src.sources"
    elif grep -qsE '^deb[[:space:]]' /etc/apt/sources.list; then
        sed -n 's/^deb[[:space:]]/deb-src /p' /etc/apt/sources.list \
            >/etc/apt/sources.list.d/debian-src.list
        say "added /etc/apt/sources.list.d/debian-src.list"
    else
        die "no Debian apt source found to copy as deb-src"
    fi
    APT_UPDATED=0
    apt_update
}

ensure_packages() {
    missing=""
    if [ -n "$CROSS" ]; then
        # No musl-tools: a cross build compiles its own musl.
        pkgs="gcc-$(echo "$CROSS" | tr _ -) linux-libc-dev-$deb_arch-cross dpkg-dev gcc make"
        pkgs="$pkgs perl file"
    else
        pkgs="musl-tools dpkg-dev linux-libc-dev gcc make perl file"
    fi
    for p in $pkgs; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
            missing="$missing $p"
        fi
    done
    [ -z "$missing" ] && return 0
    need_root "missing packages:$missing"
    apt_update
    say "apt-get install$missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
        || die "apt-get install$missing failed"
}

# musl-gcc sees no kernel headers; OpenSSL needs linux/mman.h and friends. This folder holds
# only symlinks to the kernel's uapi headers, added with -idirafter: never /usr/include
# itself, or glibc headers would leak in.
# A cross build takes the target's headers from Debian's linux-libc-dev-ARCH-cross.
make_kernel_headers() {
    if [ -n "$CROSS" ]; then
        inc=/usr/$CROSS/include
        asm=$inc/asm
        musl_gcc=$OUT/musl/bin/musl-gcc
    else
        inc=/usr/include
        asm=/usr/include/$(gcc -print-multiarch)/asm
        musl_gcc=musl-gcc
    fi
    kh=$OUT/kernel-headers
    mkdir -p "$kh"
    for d in "$inc/linux" "$inc/asm-generic" "$asm"; do
        [ -d "$d" ] || die "$d missing (install linux-libc-dev${CROSS:+-$deb_arch-cross})"
    done
    ln -sfn "$inc/linux" "$kh/linux"
    ln -sfn "$inc/asm-generic" "$kh/asm-generic"
    ln -sfn "$asm" "$kh/asm"
    # A wrapper found through PATH, so OpenSSL's recorded "compiler:" string holds no path of
    # this machine and the libraries are identical whatever OUTDIR is.
    cat >"$OUT/tools/inj-musl-gcc" <<EOF
#!/bin/sh
exec $musl_gcc -idirafter '$kh' '-ffile-prefix-map=$BLD/=' "\$@"
EOF
    chmod 755 "$OUT/tools/inj-musl-gcc"
    PATH=$OUT/tools:$PATH
    export PATH
}

# ---- sources ------------------------------------------------------------------------------

verify() { # verify FILE: sha256 against the pin; fails loudly
    f=$1
    want=$(pinned_sha256 "$(basename "$f")")
    [ -n "$want" ] || die "no sha256 pinned for $(basename "$f"): add it to pinned_sha256 in $0"
    got=$(sha256sum "$f" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        die "sha256 MISMATCH for $f: got $got, pinned $want" \
            "(a bad download: delete the file and rerun; a changed upstream: investigate)"
    fi
}

orig_files() { # orig_files DSC: the orig tarballs (no signatures) listed in the .dsc
    awk '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 }
         s && $3 ~ /\.orig\.tar\.[a-z0-9]+$/ { print $3 }' "$1" | sort -u
}

# fetch PKG VERSION: download (once), verify, extract with Debian's patches into $BLD.
# Sets TREE (source tree) and SDE (SOURCE_DATE_EPOCH from debian/changelog).
fetch() {
    pkg=$1
    ver=$2
    dsc=$SRC/${pkg}_$(echo "$ver" | sed 's/^[0-9]*://').dsc
    have=1
    if [ -f "$dsc" ]; then
        for o in $(orig_files "$dsc"); do
            [ -f "$SRC/$o" ] || have=0
        done
    else
        have=0
    fi
    if [ "$have" = 0 ]; then
        ensure_deb_src
        say "apt-get source --download-only $pkg=$ver"
        # One package per command: one missing file aborts a whole multi-package fetch.
        if ! (cd "$SRC" && apt-get source -qq --download-only \
            -o APT::Sandbox::User=root "$pkg=$ver"); then
            APT_UPDATED=0
            apt_update
            (cd "$SRC" && apt-get source -qq --download-only \
                -o APT::Sandbox::User=root "$pkg=$ver") ||
                die "cannot fetch $pkg=$ver: is it in 'apt-cache showsrc $pkg'?" \
                    "(bookworm-security .dsc files can be missing from the mirror)"
        fi
        [ -f "$dsc" ] || die "$dsc not downloaded"
    fi
    verify "$dsc"
    origs=$(orig_files "$dsc")
    [ -n "$origs" ] || die "$dsc lists no orig tarball"
    for o in $origs; do
        verify "$SRC/$o"
    done
    TREE=$BLD/$pkg-$ver
    rm -rf "$TREE"
    # dpkg-source applies debian/patches and checks the .dsc's checksums of every file.
    dpkg-source -q -x "$dsc" "$TREE" >"$LOG/$pkg-extract.log" 2>&1 ||
        { cat "$LOG/$pkg-extract.log" >&2; die "dpkg-source -x $dsc failed"; }
    SDE=$(dpkg-parsechangelog -l "$TREE/debian/changelog" -STimestamp)
}

up_to_date() { # up_to_date NAME KEY FILE...
    name=$1
    key=$2
    shift 2
    [ -f "$OUT/.stamp-$name" ] && [ "$(cat "$OUT/.stamp-$name")" = "$key" ] || return 1
    for f in "$@"; do
        [ -f "$f" ] || return 1
    done
    say "$name: up to date"
}

stamp() { # stamp NAME KEY
    printf '%s\n' "$2" >"$OUT/.stamp-$1"
}

run() { # run LOGNAME CMD...: output to the log, shown on failure
    l=$LOG/$1.log
    shift
    if ! "$@" >>"$l" 2>&1; then
        tail -n 40 "$l" >&2
        die "failed: $* (full log: $l)"
    fi
}

# ---- builds -------------------------------------------------------------------------------

build_openssl() {
    key="$DEB_OPENSSL_VERSION $SELF_HASH"
    up_to_date openssl "$key" "$OUT/lib/libcrypto.a" "$OUT/lib/libssl.a" && return 0
    t0=$(date +%s)
    fetch openssl "$DEB_OPENSSL_VERSION"
    : >"$LOG/openssl.log"
    say "openssl $DEB_OPENSSL_VERSION: configure + build (log: $LOG/openssl.log)"
    # shellcheck disable=SC2086
    (cd "$TREE" && run openssl env $CROSS_TOOLS SOURCE_DATE_EPOCH="$SDE" CC=inj-musl-gcc \
        CFLAGS="$DEP_CFLAGS" perl ./Configure "$openssl_target" --prefix="$OPENSSL_PREFIX" \
        --openssldir="$OPENSSL_PREFIX" --libdir=lib $OPENSSL_OPTS)
    (cd "$TREE" && run openssl env SOURCE_DATE_EPOCH="$SDE" make -j"$JOBS" build_libs)
    stage=$OUT/stage/openssl
    rm -rf "$stage"
    (cd "$TREE" && run openssl make install_dev DESTDIR="$stage")
    rm -rf "$OUT/include/openssl"
    cp -R "$stage$OPENSSL_PREFIX/include/openssl" "$OUT/include/openssl"
    cp "$stage$OPENSSL_PREFIX/lib/libcrypto.a" "$stage$OPENSSL_PREFIX/lib/libssl.a" "$OUT/lib/"
    # .pc files for curl's configure, pointing at OUTDIR instead of the baked-in prefix.
    mkdir -p "$OUT/lib/pkgconfig"
    for pc in libcrypto libssl openssl; do
        sed -e "s|^prefix=.*|prefix=$OUT|" -e "s|$OPENSSL_PREFIX|\${prefix}|g" \
            "$stage$OPENSSL_PREFIX/lib/pkgconfig/$pc.pc" >"$OUT/lib/pkgconfig/$pc.pc"
    done
    rm -rf "$stage" "$TREE"
    stamp openssl "$key"
    say "openssl: done in $(($(date +%s) - t0)) s"
}

build_libyaml() {
    key="$DEB_LIBYAML_VERSION $SELF_HASH"
    up_to_date libyaml "$key" "$OUT/lib/libyaml.a" && return 0
    fetch libyaml "$DEB_LIBYAML_VERSION"
    up=${DEB_LIBYAML_VERSION%-*}
    maj=${up%%.*}
    rest=${up#*.}
    min=${rest%%.*}
    pat=${rest#*.}
    : >"$LOG/libyaml.log"
    say "libyaml $DEB_LIBYAML_VERSION: build"
    # Debian's orig tarball has no configure: compile the sources directly.
    for c in "$TREE"/src/*.c; do
        # shellcheck disable=SC2086
        (cd "$TREE" && run libyaml env SOURCE_DATE_EPOCH="$SDE" inj-musl-gcc $DEP_CFLAGS \
            -DYAML_DECLARE_STATIC -DYAML_VERSION_MAJOR="$maj" -DYAML_VERSION_MINOR="$min" \
            -DYAML_VERSION_PATCH="$pat" -DYAML_VERSION_STRING="\"$up\"" -Iinclude \
            -c "src/$(basename "$c")" -o "src/$(basename "$c" .c).o")
    done
    rm -f "$OUT/lib/libyaml.a"
    # The glob is sorted (LC_ALL=C): a stable member order in the archive.
    (cd "$TREE/src" && run libyaml "$AR" rcsD "$OUT/lib/libyaml.a" ./*.o)
    cp "$TREE/include/yaml.h" "$OUT/include/yaml.h"
    rm -rf "$TREE"
    stamp libyaml "$key"
}

build_cjson() {
    key="$DEB_CJSON_VERSION $SELF_HASH"
    up_to_date cjson "$key" "$OUT/lib/libcjson.a" && return 0
    fetch cjson "$DEB_CJSON_VERSION"
    : >"$LOG/cjson.log"
    say "cjson $DEB_CJSON_VERSION: build"
    # shellcheck disable=SC2086
    (cd "$TREE" && run cjson env SOURCE_DATE_EPOCH="$SDE" inj-musl-gcc $DEP_CFLAGS \
        -c cJSON.c -o cJSON.o)
    rm -f "$OUT/lib/libcjson.a"
    (cd "$TREE" && run cjson "$AR" rcsD "$OUT/lib/libcjson.a" cJSON.o)
    # Same include path as Debian's libcjson-dev and cJSON's own install: <cjson/cJSON.h>.
    mkdir -p "$OUT/include/cjson"
    cp "$TREE/cJSON.h" "$OUT/include/cjson/cJSON.h"
    rm -rf "$TREE"
    stamp cjson "$key"
}

build_curl() {
    # Rebuilt when OpenSSL changes: configure probes OpenSSL's features.
    key="$DEB_CURL_VERSION $DEB_OPENSSL_VERSION $SELF_HASH"
    up_to_date curl "$key" "$OUT/lib/libcurl.a" && return 0
    t0=$(date +%s)
    fetch curl "$DEB_CURL_VERSION"
    : >"$LOG/curl.log"
    say "curl $DEB_CURL_VERSION: configure + build (log: $LOG/curl.log)"
    # shellcheck disable=SC2086
    (cd "$TREE" && run curl env $CROSS_TOOLS SOURCE_DATE_EPOCH="$SDE" CC=inj-musl-gcc \
        CFLAGS="$DEP_CFLAGS" PKG_CONFIG_LIBDIR="$OUT/lib/pkgconfig" \
        ./configure --host="$ARCH-linux-musl" \
        --with-openssl="$OUT" $CURL_OPTS)
    (cd "$TREE/lib" && run curl env SOURCE_DATE_EPOCH="$SDE" make -j"$JOBS" libcurl.la)
    rm -rf "$OUT/include/curl"
    mkdir -p "$OUT/include/curl"
    cp "$TREE"/include/curl/*.h "$OUT/include/curl/"
    cp "$TREE/lib/.libs/libcurl.a" "$OUT/lib/libcurl.a"
    cp "$TREE/lib/curl_config.h" "$LOG/curl_config.h"
    rm -rf "$TREE"
    stamp curl "$key"
    say "curl: done in $(($(date +%s) - t0)) s"
}

# Cross only: musl itself, from Debian's source package, with Debian's cross gcc and musl's
# own flags (its configure picks -Os/-O2 per part and adds -ffunction-sections
# -fdata-sections). The prefix is OUTDIR/musl: its gcc wrapper and specs file point there.
build_musl() {
    key="$DEB_MUSL_VERSION $ARCH $SELF_HASH"
    up_to_date musl "$key" "$OUT/musl/lib/libc.a" "$OUT/musl/bin/musl-gcc" && return 0
    t0=$(date +%s)
    fetch musl "$DEB_MUSL_VERSION"
    : >"$LOG/musl.log"
    say "musl $DEB_MUSL_VERSION: configure + build for $ARCH (log: $LOG/musl.log)"
    rm -rf "$OUT/musl"
    (cd "$TREE" && run musl env CC="$CROSS-gcc" AR="$CROSS-ar" RANLIB="$CROSS-ranlib" \
        CFLAGS="-ffile-prefix-map=$BLD/=" ./configure --prefix="$OUT/musl" \
        --target="$ARCH-linux-musl" --disable-shared --enable-wrapper=gcc)
    (cd "$TREE" && run musl make -j"$JOBS")
    (cd "$TREE" && run musl make install)
    [ -x "$OUT/musl/bin/musl-gcc" ] || die "musl installed no musl-gcc wrapper"
    rm -rf "$TREE"
    stamp musl "$key"
    say "musl: done in $(($(date +%s) - t0)) s"
}

# The cross build's archiver: the host's ar may not know the target's object format (for the
# symbol index). A native build keeps plain `ar` and the tools' own defaults.
if [ -n "$CROSS" ]; then
    AR=$CROSS-ar
    CROSS_TOOLS="AR=$CROSS-ar RANLIB=$CROSS-ranlib"
else
    AR="ar"
    CROSS_TOOLS=""
fi

ensure_packages
if [ -n "$CROSS" ]; then
    build_musl
fi
make_kernel_headers
build_openssl
build_libyaml
build_cjson
build_curl
rm -rf "$OUT/stage"
say "ready ($ARCH): $OUT/include, $OUT/lib: libcurl libssl libcrypto libyaml libcjson"
