#!/bin/sh
# Installs everything injector needs to build, test and benchmark on Debian bookworm.
# Idempotent; run as root (or it uses sudo).
set -eu
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PKGS="
  build-essential make pkg-config file
  libcurl4-openssl-dev libssl-dev libcjson-dev libyaml-dev
  libcmocka-dev valgrind clang
  cppcheck clang-tidy clang-tools clang-format
  python3 python3-botocore python3-pytest python3-pytest-xdist python3-yaml python3-dotenv
  openssl ca-certificates
  postgresql postgresql-client
  musl-tools dpkg-dev lld
  gcc-aarch64-linux-gnu linux-libc-dev-arm64-cross qemu-user-static
  mandoc
  curl time jq hyperfine python3-boto3 awscli strace nodejs
"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# make bench-node: npm (Debian packages it apart; NodeSource's nodejs carries its own).
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "setup: installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
else
  echo "setup: all packages present"
fi
