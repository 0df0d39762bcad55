#!/usr/bin/env python3
"""Draws the charts of benchmarks/RESULTS.md with gnuplot.

  plot.py RESULTS_DIR CHARTS_DIR

Reads Google Benchmark's JSON (medians) and startup_benchmark's output,
writes the data gnuplot plots into a temporary directory, and runs gnuplot
(pngcairo) once per chart.
"""

import os
import subprocess
import sys
import tempfile

from report import DESIGNS, THREADS, get_run, load_json, load_medians

COLORS = ["#000000", "#009e73", "#0072b2", "#56b4e9", "#e69f00", "#cc79a7",
          "#d55e00", "#999999", "#7b3294", "#b8860b"]
TERMINAL = "set terminal pngcairo size 1000,700 noenhanced font 'DejaVu Sans,11'"


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def quote(s):
    return s.replace("'", "").replace("*", "")


def fastpath_scaling(handle, type_, tmp, out):
    plots = []
    for i, (key, label) in enumerate(DESIGNS):
        rows = []
        for t in THREADS:
            b = get_run(handle, key, type_, t)
            if b:
                rows.append(f"{t} {b['items_per_second'] / 1e9:.6f}")
        if not rows:
            continue
        path = os.path.join(tmp, f"scaling-{type_}-{key}.dat")
        with open(path, "w") as f:
            f.write("\n".join(rows) + "\n")
        width = 4 if key == "lazy_get" else 2
        plots.append(f"'{path}' using 1:2 with linespoints lw {width} pt {5 + i % 4} "
                     f"lc rgb '{COLORS[i % len(COLORS)]}' dt {1 + i // 5} "
                     f"title '{quote(label)}'")
    value = "int" if type_ == "int" else "std::string"
    gnuplot(f"""{TERMINAL}
set output '{out}'
set title "Loaded fast path, {value}: aggregate throughput, median (2 CPUs: past 2 threads, oversubscribed)"
set xlabel 'threads' offset 0,1.3
set ylabel 'accesses per second, all threads (billions, log scale)'
set logscale x 2
set logscale y 10
set xtics (1, 2, 4, 8, 16)
set xrange [0.9:18]
set grid
set key below box maxrows 4
plot {", ".join(plots)}
""")


def startup_timeline(results, tmp, out):
    path = os.path.join(results, "startup_timeline.csv")
    if not os.path.exists(path):
        return
    series = {}
    with open(path) as f:
        next(f)
        for line in f:
            mode, t, n = line.strip().split(",")
            series.setdefault(mode, []).append((float(t), int(n)))
    labels = {"eager": "eager", "lazy": "lazy (loads on demand)",
              "background_w2": "background, 2 workers",
              "background_w4": "background, 4 workers",
              "background_w8": "background, 8 workers"}
    plots = []
    for mode, points in series.items():
        p = os.path.join(tmp, f"timeline-{mode}.dat")
        with open(p, "w") as f:
            f.write("\n".join(f"{t / 1e3:.6f} {n}" for t, n in points) + "\n")
        plots.append(f"'{p}' using 1:2 with steps lw 3 title '{labels.get(mode, mode)}'")
    startup = load_json(os.path.join(results, "startup.json"))
    marks = []
    if startup:
        p = os.path.join(tmp, "ready.dat")
        with open(p, "w") as f:
            for m in startup["modes"]:
                loaded = sum(1 for t, _ in series.get(m["mode"], [])[1:]
                             if t <= m["ready_ms"])
                f.write(f"{m['ready_ms'] / 1e3:.6f} {loaded}\n")
        marks.append(f"'{p}' using 1:2 with points pt 9 ps 2 lc rgb 'black' "
                     "title 'ready to serve (each mode)'")
    n = startup["resources"] if startup else 1000
    gnuplot(f"""{TERMINAL}
set output '{out}'
set title 'Startup: resources loaded over time ({n} resources of 2 ms each)'
set xlabel 'seconds since start'
set ylabel 'resources loaded'
set yrange [-30:{n * 1.05:.0f}]
set grid
set key right center box
plot {", ".join(plots + marks)}
""")


def startup_times(results, tmp, out):
    startup = load_json(os.path.join(results, "startup.json"))
    if not startup:
        return
    p = os.path.join(tmp, "startup-times.dat")
    names = {"eager": "eager", "lazy": "lazy", "background_w2": "bg, 2 workers",
             "background_w4": "bg, 4 workers", "background_w8": "bg, 8 workers"}
    with open(p, "w") as f:
        for m in startup["modes"]:
            all_ms = m["all_loaded_ms"] if m["all_loaded_ms"] > 0 else "NaN"
            f.write(f"\"{names.get(m['mode'], m['mode'])}\" {m['ready_ms']} "
                    f"{m['first_result_ms']} {all_ms}\n")
    gnuplot(f"""{TERMINAL}
set output '{out}'
set title 'Startup: time to ready, first result and all loaded (median; lazy never loads all)'
set ylabel 'milliseconds (log scale)'
set logscale y 10
set yrange [0.1:*]
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left box
plot '{p}' using 2:xtic(1) title 'ready', '' using 3 title 'first result', '' using 4 title 'all loaded'
""")


def contended(handle, tmp, out):
    plots = []
    for key, label in (("lazy_get", "LazyHandle::get()"),
                       ("std_call_once", "std::call_once"),
                       ("absl_call_once", "absl::call_once"),
                       ("inline_flag", "inline prototype")):
        rows = []
        for n in (2, 4, 8, 16):
            b = handle.get(f"BM_ContendedFirstLoad/{key}/{n}/iterations:150/manual_time")
            if b:
                rows.append(f"{n} {b['wake_median_us']:.3f} {b['wake_p99_us']:.3f}")
        if not rows:
            continue
        p = os.path.join(tmp, f"contended-{key}.dat")
        with open(p, "w") as f:
            f.write("\n".join(rows) + "\n")
        plots.append(f"'{p}' using 1:2 with linespoints lw 3 pt 7 title '{label}, median'")
        plots.append(f"'{p}' using 1:3 with linespoints lw 1 dt 2 pt 6 title '{label}, p99'")
    gnuplot(f"""{TERMINAL}
set output '{out}'
set title 'Contended first load (1 ms loader): loader end to waiter return'
set xlabel 'threads released together (2 CPUs)'
set ylabel 'microseconds (log scale)'
set logscale x 2
set logscale y 10
set xtics (2, 4, 8, 16)
set xrange [1.7:19]
set grid
set key below box maxrows 4
plot {", ".join(plots)}
""")


def snapshot(registry, tmp, out):
    rows = []
    for n in (10, 1000, 10000, 100000):
        b = registry.get(f"BM_RegistrySnapshot/{n}")
        if b:
            rows.append(f"{n} {b['real_ns'] / n:.3f}")
    if not rows:
        return
    p = os.path.join(tmp, "snapshot.dat")
    with open(p, "w") as f:
        f.write("\n".join(rows) + "\n")
    gnuplot(f"""{TERMINAL}
set output '{out}'
set title 'LazyRegistry::snapshot(): cost per entry'
set xlabel 'entries (log scale)'
set ylabel 'nanoseconds per entry'
set logscale x 10
set xrange [5:200000]
set yrange [0:*]
set grid
plot '{p}' using 1:2 with linespoints lw 3 pt 7 title 'snapshot(), median'
""")


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    results, charts = argv[1:]
    os.makedirs(charts, exist_ok=True)
    handle = load_medians(os.path.join(results, "handle_benchmark.json"))
    registry = load_medians(os.path.join(results, "registry_benchmark.json"))
    with tempfile.TemporaryDirectory() as tmp:
        fastpath_scaling(handle, "int", tmp, os.path.join(charts, "fastpath_threads_int.png"))
        fastpath_scaling(handle, "string", tmp,
                         os.path.join(charts, "fastpath_threads_string.png"))
        contended(handle, tmp, os.path.join(charts, "contended_first_load.png"))
        snapshot(registry, tmp, os.path.join(charts, "snapshot_per_entry.png"))
        startup_timeline(results, tmp, os.path.join(charts, "startup_timeline.png"))
        startup_times(results, tmp, os.path.join(charts, "startup_times.png"))


if __name__ == "__main__":
    main(sys.argv)
