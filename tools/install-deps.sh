#!/usr/bin/env bash
# Installs, with apt-get, whatever one set of lazyload's tasks needs that this
# Debian machine lacks. Safe to run again: it installs only what is missing,
# and does nothing (and needs no network) when everything is there.
#   bash tools/install-deps.sh                # all: tests, examples, benchmarks
#   bash tools/install-deps.sh core           # the compiler and CMake: the core
#                                             # and the examples that use only it
#   bash tools/install-deps.sh status_server  # core, plus that example's libraries
set -euo pipefail

core=(g++ cmake)
case "${1:-all}" in
  all)
    packages=(
      "${core[@]}" clang libclang-rt-14-dev ninja-build git python3
      catch2 libfmt-dev nlohmann-json3-dev libbenchmark-dev libabsl-dev
      libcpp-httplib-dev pkg-config valgrind gnuplot-nox python3-jsonschema
      python3-websocket binutils locales
    )
    # The browser test opens the status page in headless Chromium.
    packages+=(chromium) ;;
  core)
    packages=("${core[@]}") ;;
  status_server)
    packages=("${core[@]}" pkg-config nlohmann-json3-dev libfmt-dev libcpp-httplib-dev) ;;
  *)
    echo "install-deps: unknown set '$1' (all, core, status_server)" >&2
    exit 2 ;;
esac

# The tests read numbers under a decimal-comma locale when one exists
# (tests/profile_test.cpp, the stress test); generate de_DE.UTF-8 if the
# locales package is there and the locale is not (needs root, like apt-get).
ensure_test_locale() {
  [ "${1:-all}" = all ] || return 0
  command -v localedef >/dev/null || return 0
  locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$' && return 0
  local run=""
  [ "$(id -u)" -ne 0 ] && { command -v sudo >/dev/null || return 0; run="sudo"; }
  $run localedef -i de_DE -f UTF-8 de_DE.UTF-8 || echo "install-deps: could not generate de_DE.UTF-8; the locale tests run in C only" >&2
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  ensure_test_locale "${1:-all}"
  exit 0
fi

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
ensure_test_locale "${1:-all}"
