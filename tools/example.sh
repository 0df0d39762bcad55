#!/usr/bin/env bash
# The example command: builds and runs one example (quickstart by default) in
# an optimized build. `bash tools/example.sh model_registry load bert`.
#
# It installs only what the chosen example needs (tools/install-deps.sh): the
# examples that use only the core need the compiler and CMake, nothing else,
# and configuring downloads nothing, so this works offline and before
# tools/test.sh has installed the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
example=${1:-quickstart}
[ $# -gt 0 ] && shift
case "$example" in
  status_server) bash tools/install-deps.sh status_server ;;
  *) bash tools/install-deps.sh core ;;
esac
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/example "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DLAZYLOAD_BUILD_TESTS=OFF -DLAZYLOAD_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/example --target "$example" -j "$(nproc)" >/dev/null
exec "build/example/examples/$example/$example" "$@"
