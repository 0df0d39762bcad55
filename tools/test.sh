#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every test
# configuration lazyload promises to pass:
#   gcc-cxx17    g++, C++17, Debug, plus the consumer and packaging tests
#                (tests/consumers/: FetchContent, add_subdirectory, install,
#                components, pkg-config, .deb, single header)
#   clang-cxx20  clang++, C++20, Release
#   asan-ubsan   clang++, AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan         clang++, ThreadSanitizer
#   no-rtti      g++, C++17, -fno-rtti: the core's tests (no RTTI needed)
#   lint         clang-format, and clang-tidy on every header (tools/lint.sh)
# All with -Wall -Wextra -Wpedantic -Werror. Pass configuration names to run
# only those: `bash tools/test.sh tsan`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

jobs=$(nproc)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}

# Sets `args` to the cmake arguments of configuration $1.
configure_args() {
  local common=(-DLAZYLOAD_TEST_CONSUMERS=OFF -DLAZYLOAD_BUILD_BENCHMARKS=OFF)
  case "$1" in
    gcc-cxx17)
      args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17
        -DCMAKE_BUILD_TYPE=Debug -DLAZYLOAD_TEST_CONSUMERS=ON) ;;
    clang-cxx20)
      args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=20
        -DCMAKE_BUILD_TYPE=Release -DLAZYLOAD_TEST_CONSUMERS=OFF) ;;
    asan-ubsan)
      args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=17
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "${common[@]}" -DLAZYLOAD_BUILD_FUZZERS=ON
        "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer") ;;
    tsan)
      args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=20
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "${common[@]}"
        "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer") ;;
    no-rtti)
      args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_STANDARD=17
        -DCMAKE_BUILD_TYPE=Debug "${common[@]}" -DLAZYLOAD_BUILD_EXAMPLES=OFF
        "-DCMAKE_CXX_FLAGS=-fno-rtti") ;;
    *) echo "unknown configuration '$1'" >&2; return 1 ;;
  esac
}

configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(lint gcc-cxx17 no-rtti clang-cxx20 asan-ubsan tsan)

for config in "${configs[@]}"; do
  echo "=== $config"
  if [ "$config" = lint ]; then
    bash tools/lint.sh
    continue
  fi
  configure_args "$config"
  cmake -S . -B "build/$config" "${generator[@]}" "${args[@]}" \
    -DCMAKE_CXX_EXTENSIONS=OFF >/dev/null
  if [ "$config" = no-rtti ]; then
    # The core's tests only: the adapters' and the shared-library tests use
    # std::rethrow_if_nested, whose dynamic_cast needs RTTI.
    cmake --build "build/$config" -j "$jobs" --target lazyload_tests
    "build/$config/tests/lazyload_tests"
    continue
  fi
  cmake --build "build/$config" -j "$jobs"
  # Sanitizer runtimes of clang 14 need the classic address-space layout on
  # kernels with high mmap randomization; setarch -R gives it to them.
  runner=()
  case "$config" in asan-ubsan|tsan) command -v setarch >/dev/null && runner=(setarch "$(uname -m)" -R) ;; esac
  (cd "build/$config" && "${runner[@]}" ctest --output-on-failure -j "$jobs")
done
echo "=== all configurations passed: ${configs[*]}"
