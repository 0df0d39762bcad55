#!/usr/bin/env bash
# Lint: the code is formatted (.clang-format), and every public header passes
# clang-tidy's bugprone, concurrency and static-analyzer checks on its own
# (which also proves each header includes what it uses). The wider checks in
# .clang-tidy are advice for editors; these are the gate.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "lint: clang-format"
# single_include/ is generated from include/ (tools/amalgamate.py).
git ls-files '*.hpp' '*.cpp' ':!:single_include/' | xargs clang-format --dry-run --Werror

echo "lint: clang-tidy (bugprone, concurrency, clang-analyzer) on each header"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for header in include/lazyload/*.hpp; do
  name=$(basename "$header" .hpp)
  printf '#include <lazyload/%s.hpp>\n' "$name" >"$work/$name.cpp"
done
checks='-*,bugprone-*,concurrency-*,clang-analyzer-*,-bugprone-easily-swappable-parameters'
ls "$work"/*.cpp | xargs -P "$(nproc)" -I{} \
  clang-tidy --quiet --checks="$checks" --warnings-as-errors='*' \
  --header-filter='.*lazyload/.*' {} -- -std=c++17 -Iinclude \
  2>&1 | { grep -v 'warnings generated' || true; }
echo "lint: clean"
