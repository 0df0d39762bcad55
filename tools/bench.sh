#!/usr/bin/env bash
# The benchmark command: builds the benchmarks optimized (build/bench), runs
# all of them, and regenerates benchmarks/RESULTS.md and the README's
# headline table from what this run measured:
#
#   benchmarks/results/*.json   Google Benchmark JSON and the small programs',
#                               and header parse times (compile_time.py)
#   benchmarks/charts/*.png     charts drawn by benchmarks/plot.py (gnuplot)
#   benchmarks/RESULTS.md       tables written by benchmarks/report.py
#
# Google Benchmark runs use repetitions with random interleaving, so that
# noise from other processes falls on every alternative alike; tables give
# medians. Takes about 6 minutes on 2 quiet cores (10 when others build
# beside it), 2 of them the header parse times.
#
#   bash tools/bench.sh            everything
#   BENCH_QUICK=1 bash tools/bench.sh   one short repetition (a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

build=build/bench
results=benchmarks/results
charts=benchmarks/charts
mkdir -p "$results" "$charts"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cxx=${CXX:-g++}
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DLAZYLOAD_BUILD_TESTS=OFF -DLAZYLOAD_BUILD_EXAMPLES=OFF \
  -DLAZYLOAD_BUILD_BENCHMARKS=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$build" -j 2
bin=$build/benchmarks

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  reps=1 min_time=0.01 startup_reps=1
else
  reps=5 min_time=0.1 startup_reps=3
fi
gbench=(--benchmark_repetitions="$reps" --benchmark_min_time="$min_time"
  --benchmark_enable_random_interleaving=true
  --benchmark_report_aggregates_only=true --benchmark_out_format=json)

echo "=== machine"
python3 benchmarks/checks.py machine "$build" >"$results/machine.json"
cat "$results/machine.json"

echo "=== handle_benchmark"
"$bin/handle_benchmark" "${gbench[@]}" --benchmark_out="$results/handle_benchmark.json"

echo "=== registry_benchmark"
"$bin/registry_benchmark" "${gbench[@]}" --benchmark_out="$results/registry_benchmark.json"

echo "=== scale_benchmark"
"$bin/scale_benchmark" "${gbench[@]}" --benchmark_out="$results/scale_benchmark.json"

echo "=== library_benchmark"
"$bin/library_benchmark" "${gbench[@]}" --benchmark_out="$results/library_benchmark.json"

echo "=== startup_benchmark"
"$bin/startup_benchmark" --repetitions "$startup_reps" \
  --json "$results/startup.json" --csv "$results/startup_timeline.csv"

echo "=== callgrind: instructions per loaded access"
# Ir per call = (Ir at 2N calls - Ir at N calls) / N, inclusive of callees,
# which cancels the first (loading) call; N is run twice to show that the
# counts repeat exactly.
n=1000000
cg=$(mktemp -d)
for run in a b; do
  valgrind --tool=callgrind --callgrind-out-file="$cg/n-$run.out" "$bin/fastpath_callgrind" "$n" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes "$cg/n-$run.out" >"$cg/n-$run.txt" 2>/dev/null
done
valgrind --tool=callgrind --callgrind-out-file="$cg/2n.out" "$bin/fastpath_callgrind" $((2 * n)) >/dev/null 2>&1
callgrind_annotate --inclusive=yes "$cg/2n.out" >"$cg/2n.txt" 2>/dev/null
python3 benchmarks/checks.py callgrind "$n" "$cg/n-a.txt" "$cg/n-b.txt" "$cg/2n.txt" >"$results/callgrind.json"
cat "$results/callgrind.json"
rm -rf "$cg"

echo "=== objdump: the loaded fast path"
for f in fastpath_lazy_get fastpath_static fastpath_inline_flag fastpath_absl_call_once fastpath_std_call_once; do
  objdump -d --no-show-raw-insn --disassemble="$f" "$bin/fastpath_callgrind" |
    sed -n '/^[0-9a-f]* <'"$f"'>:/,/^$/p'
done >"$results/fastpath_objdump.txt"
python3 benchmarks/checks.py objdump "$results/fastpath_objdump.txt" >"$results/fastpath_check.json"
cat "$results/fastpath_check.json"

echo "=== call_once after a throw (each case under timeout 10)"
run_case() {  # name, program, args...
  local name=$1 status=0
  shift
  timeout 10 "$@" >"$results/call_once_retry_$name.txt" 2>&1 || status=$?
  echo "$name exit=$status"
  echo "$name $status" >>"$results/call_once_retry_status.txt"
}
: >"$results/call_once_retry_status.txt"
run_case std "$bin/std_call_once_retry"
if [ -x "$bin/absl_call_once_retry" ]; then
  run_case absl_case1 "$bin/absl_call_once_retry" 1
  run_case absl_case2 "$bin/absl_call_once_retry" 2
fi
run_case lazyload "$bin/lazyload_retry"

echo "=== compile time: each header against the headers it includes"
if [ "${BENCH_QUICK:-0}" = 1 ]; then compile_runs=1; else compile_runs=7; fi
python3 benchmarks/compile_time.py --runs "$compile_runs" --cxx "$cxx" \
  --out "$results/compile_time.json"

echo "=== charts and tables"
python3 benchmarks/plot.py "$results" "$charts"
python3 benchmarks/report.py "$results" benchmarks/RESULTS.md README.md
echo "=== done: benchmarks/RESULTS.md"
