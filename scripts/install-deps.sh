#!/usr/bin/env bash
# Installs, from Debian 12's archive, whatever dockgate's build and tests need and this machine
# lacks. Usage: scripts/install-deps.sh [build|test|bench]   (each includes the ones before)
set -euo pipefail
level=${1:-test}

build_pkgs=(cmake ninja-build g++ pkg-config libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
            libssl-dev libssh-dev libspdlog-dev libtomlplusplus-dev libcli11-dev libgtest-dev libseccomp-dev openssl)
test_pkgs=(docker.io busybox-static curl python3 python3-docker python3-paramiko python3-pytest python3-pytest-timeout clang clang-tidy-14 libclang-rt-14-dev procps openssh-client util-linux passwd iproute2 strace systemd debootstrap rsyslog rsyslog-gnutls)
bench_pkgs=(stunnel4 haproxy nginx-light)

want=("${build_pkgs[@]}")
[[ $level == test || $level == bench ]] && want+=("${test_pkgs[@]}")
[[ $level == bench ]] && want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's docker.io would start a system daemon under systemd; the tests run their own.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
