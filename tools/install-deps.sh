#!/usr/bin/env bash
# Installs, with apt-get, whatever lazyload's tests, examples and benchmarks
# need that this Debian machine lacks. Safe to run again: it installs only
# what is missing, and does nothing when everything is there.
set -euo pipefail

packages=(
  g++ clang libclang-rt-14-dev cmake ninja-build git python3
  catch2 libfmt-dev nlohmann-json3-dev libbenchmark-dev libabsl-dev
  libcpp-httplib-dev pkg-config valgrind gnuplot-nox python3-jsonschema
  python3-websocket binutils
)
# The browser test opens the status page in headless Chromium.
packages+=(chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "install-deps: not root and no sudo; install these yourself: ${missing[*]}" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
