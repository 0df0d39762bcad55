#!/usr/bin/env python3
"""Regenerates the tables of benchmarks/RESULTS.md and README.md's headline.

  report.py RESULTS_DIR RESULTS_MD README_MD

Every number in those tables comes from RESULTS_DIR (what tools/bench.sh just
wrote). The prose around them is hand-written; the script replaces only what
lies between `<!-- generated:NAME -->` and `<!-- end:NAME -->`.
"""

import json
import os
import re
import sys

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

DESIGNS = [  # key in benchmark names, label
    ("global", "plain global (floor)"),
    ("static", "function-local static"),
    ("lazy_get", "**LazyHandle::get()**"),
    ("lazy_try_get", "LazyHandle::try_get()"),
    ("inline_flag", "inline storage + atomic<bool> (prototype)"),
    ("absl_call_once", "absl::call_once"),
    ("std_call_once", "std::call_once"),
    ("mutex", "mutex on every access"),
    ("shared_ptr_mutex", "shared_ptr copied under a mutex"),
    ("shared_ptr_copy", "shared_ptr copied (no lock; the floor for a lease)"),
    ("lazy_lease", "LazyHandle::lease()"),
    ("lazy_try_lease", "LazyHandle::try_lease()"),
]
THREADS = [1, 2, 4, 8, 16]
SCALE_TARGETS = [  # target 7: what, benchmark in scale_benchmark.cpp, small size
    ("`add()` linear in the entries: no dependencies", "BM_ScaleAdd/flat", 10000),
    ("`add()` linear in the dependencies: a chain, each entry depending on the one before",
     "BM_ScaleAdd/chain", 10000),
    ("loading the last link of a chain loads every link without deep recursion "
     "(on a thread with a 1 MiB stack), linear in the links", "BM_ScaleChainLoad", 10000),
    ("`GET /readyz` linear in the required entries, none loaded (a 503 listing every one)",
     "BM_ScaleReadyz", 1000),
]


# ---------------------------------------------------------------------------
# Loading.

def load_medians(path):
    """{run_name: median aggregate} of a Google Benchmark JSON file."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            b = dict(b, error=True)
        scale = UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
        b = dict(b)
        b["real_ns"] = b.get("real_time", 0.0) * scale
        b["cpu_ns"] = b.get("cpu_time", 0.0) * scale
        out[b["run_name"]] = b
    return out


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def get_run(medians, design, type_, threads):
    return medians.get(f"BM_Get/{type_}/{design}/real_time/threads:{threads}")


# ---------------------------------------------------------------------------
# Formatting.

def ns(v):
    if v is None:
        return "n/a"
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def gops(b):
    return "n/a" if b is None else f"{b.get('items_per_second', 0) / 1e9:.3f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok):
    return "**met**" if ok else "**missed**"


# ---------------------------------------------------------------------------
# The sections.

class Report:
    def __init__(self, results):
        self.dir = results
        self.handle = load_medians(os.path.join(results, "handle_benchmark.json"))
        self.registry = load_medians(os.path.join(results, "registry_benchmark.json"))
        # The registry benchmark of the commit before round two of the
        # performance work, measured on the same machine: "today's" numbers.
        self.baseline = load_medians(os.path.join(results, "baseline", "registry_benchmark.json"))
        self.baseline_registry = self.baseline
        self.library = load_medians(os.path.join(results, "library_benchmark.json"))
        self.scale = load_medians(os.path.join(results, "scale_benchmark.json"))
        self.startup = load_json(os.path.join(results, "startup.json"))
        self.callgrind = load_json(os.path.join(results, "callgrind.json"))
        self.fastpath = load_json(os.path.join(results, "fastpath_check.json"))
        self.machine = load_json(os.path.join(results, "machine.json")) or {}
        self.compile = load_json(os.path.join(results, "compile_time.json")) or {}
        raw = load_json(os.path.join(results, "handle_benchmark.json")) or {}
        self.repetitions = None
        for b in raw.get("benchmarks", []):
            if "repetitions" in b:
                self.repetitions = b["repetitions"]
                break
        self.context = raw.get("context", {})

    # -- numbers shared by several sections
    def t1(self, type_="int"):
        lazy = get_run(self.handle, "lazy_get", type_, 1)
        static = get_run(self.handle, "static", type_, 1)
        if not lazy or not static:
            return None, None, None
        return lazy["real_ns"], static["real_ns"], lazy["real_ns"] / static["real_ns"]

    def t1_cpu(self, type_="int"):
        lazy = get_run(self.handle, "lazy_get", type_, 1)
        static = get_run(self.handle, "static", type_, 1)
        if not lazy or not static:
            return ""
        return (f" (CPU time: {ns(lazy['cpu_ns'])} vs {ns(static['cpu_ns'])} ns, "
                f"{lazy['cpu_ns'] / static['cpu_ns']:.2f}x)")

    def t2(self, design="lazy_get", type_="int"):
        one = get_run(self.handle, design, type_, 1)
        two = get_run(self.handle, design, type_, 2)
        if not one or not two:
            return None
        return {
            "one": one["items_per_second"], "two": two["items_per_second"],
            "scaling": two["items_per_second"] / one["items_per_second"],
            # CPU time per access (Google Benchmark sums CPU time and
            # iterations over threads): does a second thread make each
            # access dearer, as a shared written cache line would?
            "cpu_one": one["cpu_ns"], "cpu_two": two["cpu_ns"],
        }

    def ir(self, fn):
        if not self.callgrind:
            return None
        f = self.callgrind["functions"].get(fn)
        return None if f is None else f["ir_per_call"]

    def wake(self, design, n):
        b = self.handle.get(f"BM_ContendedFirstLoad/{design}/{n}/iterations:150/manual_time")
        return b

    @staticmethod
    def registry_bytes(runs):
        b = runs.get("BM_RegistryMemory/10000/iterations:1")
        if not b:
            return None
        return b["add_bytes_per_entry"] + b["load_bytes_per_entry"]

    def snapshot_per_entry(self, n):
        return self.per_entry("BM_RegistrySnapshot", n)

    def per_entry(self, bench, n):
        b = self.registry.get(f"{bench}/{n}")
        return None if b is None else b["real_ns"] / n

    def startup_mode(self, name):
        if not self.startup:
            return None
        for m in self.startup["modes"]:
            if m["mode"] == name:
                return m
        return None

    # -- sections
    def machine_section(self):
        m = self.machine
        kib = lambda v: f"{int(v) // 1024} KiB" if v and v.isdigit() else "?"
        rows = [
            ("CPU", f"{m.get('cpu_model', '?')}, {m.get('cpus', '?')} CPUs "
                    f"({m.get('threads_per_core', '?')} thread per core); "
                    f"L1d {kib(m.get('l1d_bytes'))}, L2 {kib(m.get('l2_bytes'))}, "
                    f"L3 {kib(m.get('l3_bytes'))} as reported by the virtual CPU"),
            ("OS", f"{m.get('os', '?')}, kernel {m.get('kernel', '?')}, {m.get('glibc', '?')}"),
            ("compiler", m.get("compiler", "?")),
            ("flags", f"`{m.get('flags', '?')}`"),
            ("Google Benchmark", f"{m.get('libbenchmark', '?')} (Debian; it reports itself as a DEBUG build, which does not affect the code measured)"),
            ("Abseil", m.get("libabsl", "?")),
            ("valgrind", m.get("valgrind", "?")),
            ("run", f"{m.get('date', '?')}, commit {m.get('commit', '?')}, "
                    f"load average at start {' '.join(m.get('load_average_at_start', []))}; "
                    f"{self.repetitions or '?'} repetitions, randomly interleaved, medians"),
        ]
        return table(["", ""], rows)

    def targets_section(self):
        rows = []
        lazy, static, r = self.t1("int")
        if r is not None:
            rows.append(("loaded `get()` within 1.1x of a function-local static, 1 thread (int)",
                         f"{ns(lazy)} ns vs {ns(static)} ns: {r:.2f}x" + self.t1_cpu("int"),
                         verdict(r <= 1.1)))
        lazy_s, static_s, r_s = self.t1("string")
        if r_s is not None:
            rows.append(("the same, `LazyHandle<std::string>`",
                         f"{ns(lazy_s)} ns vs {ns(static_s)} ns: {r_s:.2f}x" + self.t1_cpu("string"),
                         verdict(r_s <= 1.1)))
        t2 = self.t2()
        if t2:
            rows.append(("aggregate throughput of loaded `get()` at 2 threads >= 0.9 x 2 x 1 thread",
                         f"{t2['one'] / 1e9:.2f} G/s -> {t2['two'] / 1e9:.2f} G/s: "
                         f"{t2['scaling']:.2f}x (needs 1.80x); CPU time per access "
                         f"{ns(t2['cpu_one'])} ns at 1 thread, {ns(t2['cpu_two'])} ns at 2",
                         verdict(t2["scaling"] >= 1.8)))
        ir_lazy, ir_static = self.ir("fastpath_lazy_get"), self.ir("fastpath_static")
        if ir_lazy is not None and ir_static:
            rows.append(("callgrind instructions per loaded `get()` within 1.1x of the static",
                         f"{ir_lazy:g} vs {ir_static:g}: {ir_lazy / ir_static:.2f}x",
                         verdict(ir_lazy / ir_static <= 1.1)))
        cells, ok = [], True
        for n in (2, 4, 8, 16):
            a, b = self.wake("lazy_get", n), self.wake("std_call_once", n)
            if a and b:
                cells.append(f"{n}: {a['wake_median_us']:.1f} vs {b['wake_median_us']:.1f} us "
                             f"(p99 {a['wake_p99_us']:.0f} vs {b['wake_p99_us']:.0f})")
                ok = (ok and a["wake_median_us"] <= b["wake_median_us"]
                      and a["wake_p99_us"] <= b["wake_p99_us"])
        if cells:
            rows.append(("1. waiters of a contended first load released no slower than "
                         "with `std::call_once`, median and p99, at 2 / 4 / 8 / 16 threads",
                         "; ".join(cells), verdict(ok)))
        size = self.handle.get("BM_Memory/lazy_handle/iterations:1")
        if size:
            rows.append(("3. `sizeof(LazyHandle<int>)` at most 64 bytes",
                         f"{size['sizeof']:g} bytes", verdict(size["sizeof"] <= 64)))
        now_b, base_b = self.registry_bytes(self.registry), self.registry_bytes(self.baseline)
        if now_b and base_b:
            rows.append(("3. registry bytes per loaded entry (every allocation of `add()` and "
                         "the load) at most half of the baseline's",
                         f"{now_b:.0f} vs {base_b:.0f} bytes: {now_b / base_b:.2f}x (needs 0.50x)",
                         verdict(now_b / base_b <= 0.5)))
        lease, copy = get_run(self.handle, "lazy_lease", "int", 1), get_run(self.handle, "shared_ptr_copy", "int", 1)
        if lease and copy:
            r = lease["real_ns"] / copy["real_ns"]
            rows.append(("4. `lease()` of a loaded value within 1.5x of copying a `std::shared_ptr`, 1 thread",
                         f"{ns(lease['real_ns'])} vs {ns(copy['real_ns'])} ns: {r:.2f}x "
                         f"(CPU time {ns(lease['cpu_ns'])} vs {ns(copy['cpu_ns'])} ns)",
                         verdict(r <= 1.5)))
        tl, tc = self.t2("lazy_lease"), self.t2("shared_ptr_copy")
        if tl and tc:
            rows.append(("4. `lease()` aggregate throughput at 2 threads scales at least as well "
                         "as the `shared_ptr` copy's",
                         f"{tl['scaling']:.2f}x vs {tc['scaling']:.2f}x "
                         f"({tl['one'] / 1e6:.0f} -> {tl['two'] / 1e6:.0f} M/s vs "
                         f"{tc['one'] / 1e6:.0f} -> {tc['two'] / 1e6:.0f} M/s)",
                         verdict(tl["scaling"] >= tc["scaling"])))
        allocs = [b.get("allocs_per_op") for k, b in self.registry.items()
                  if k.startswith("BM_RegistryGet/by_name")]
        if allocs:
            rows.append(("name lookup allocation-free",
                         f"{max(allocs):g} allocations per `get<T>(name)` (1 to 16 threads)",
                         verdict(max(allocs) == 0)))
        row = self.lookup_target_row()
        if row:
            rows.append(row)
        for bench, label in (("BM_RegistrySnapshot", "`snapshot()`"),
                             ("BM_DumpStatus", "`dump_status()`"),
                             ("BM_Prometheus", "`to_prometheus()`")):
            p1, p100 = self.per_entry(bench, 1000), self.per_entry(bench, 100000)
            p10 = self.per_entry(bench, 10000)
            if p1 and p100:
                rows.append((f"2. {label} cost per entry at 100k entries within 1.5x "
                             "of the cost at 1k",
                             f"{ns(p1)} / {ns(p10)} / {ns(p100)} ns per entry at "
                             f"1k / 10k / 100k: {p100 / p1:.2f}x",
                             verdict(p100 / p1 <= 1.5)))
        for what, key, small in SCALE_TARGETS:
            row = self.scale_row(what, key, small, 100000)
            if row:
                rows.append(row)
        for header, label, limit in (
                ("handle.hpp", "parsing `<lazyload/handle.hpp>`", 1.3),
                ("lazyload.hpp", "parsing the umbrella `<lazyload/lazyload.hpp>`", 1.5)):
            c = self.compile_header(header)
            if c:
                rows.append((f"6. {label} within {limit}x of parsing the standard headers "
                             "it includes (g++ `-fsyntax-only`)",
                             f"{c['lazyload_s']:.2f} s vs {c['std_s']:.2f} s: {c['ratio']:.2f}x "
                             f"(CPU time: {c['cpu_ratio']:.2f}x)",
                             verdict(c["ratio"] <= limit)))
        return table(["target", "measured (medians, same run)", ""], rows)

    def scale_row(self, what, key, small, large):
        """Target 7: the CPU time per entry of `key` at `large` entries within
        1.5x of its CPU time per entry at `small` (scale_benchmark.cpp); the
        wall time per entry alongside."""
        a, b = (self.scale.get(f"{key}/{n}/manual_time") for n in (small, large))
        if not a or not b:
            return None
        what = (f"7. {what} (taken as: CPU time per entry at {large:,} within 1.5x "
                f"of {small:,})")
        if a.get("error") or b.get("error") or "cpu_ns_per_entry" not in b:
            return (what, "failed: " + (a.get("error_message") or b.get("error_message", "")),
                    verdict(False))
        ca, cb = a["cpu_ns_per_entry"], b["cpu_ns_per_entry"]
        return (what, f"{ns(ca)} vs {ns(cb)} ns per entry: {cb / ca:.2f}x (needs 1.50x at "
                      f"most); wall time {ns(a['real_ns'] / small)} vs {ns(b['real_ns'] / large)} ns",
                verdict(cb / ca <= 1.5))

    def lookup_target_row(self):
        """get<T>(name) against the baseline (the commit before the lock-free
        index): 1 thread, median real time; allocations; 2-thread scaling."""
        key = "BM_RegistryGet/by_name/real_time/threads:{}"
        one, two = self.registry.get(key.format(1)), self.registry.get(key.format(2))
        if not one:
            return None
        base = self.baseline_registry.get(key.format(1))
        allocs = max(b.get("allocs_per_op", 0) for k, b in self.registry.items()
                     if k.startswith("BM_RegistryGet/by_name"))
        cells = []
        if base:
            r = one["real_ns"] / base["real_ns"]
            cells.append(f"{ns(one['real_ns'])} ns vs {ns(base['real_ns'])} ns before: "
                         f"{r:.2f}x (needs 0.50x)")
        else:
            r = None
            cells.append(f"{ns(one['real_ns'])} ns; no baseline")
        cells.append(f"{allocs:g} allocations per lookup")
        scaling = None
        if two:
            scaling = two["items_per_second"] / one["items_per_second"]
            cells.append(f"{one['items_per_second'] / 1e6:.1f} M/s -> "
                         f"{two['items_per_second'] / 1e6:.1f} M/s at 2 threads: "
                         f"{scaling:.2f}x (needs 1.80x)")
        ok = (r is not None and r <= 0.5 and allocs == 0
              and scaling is not None and scaling >= 1.8)
        return ("5. `get<T>(name)` at most half of today's time, allocation-free, "
                "2-thread scaling >= 1.8x", "; ".join(cells),
                verdict(ok) if r is not None else "n/a (no baseline)")

    def compile_header(self, header):
        for c in self.compile.get("headers", []):
            if c["header"] == header:
                return c
        return None

    def compile_section(self):
        c = self.compile
        if not c.get("headers"):
            return "(not measured: run `python3 benchmarks/compile_time.py`)"
        rows = [(f"`<lazyload/{h['header']}>`", f"{h['lazyload_s']:.3f}",
                 f"{h['std_s']:.3f}", f"{h['ratio']:.2f}x", f"{h['cpu_ratio']:.2f}x",
                 len(h["included"])) for h in c["headers"]]
        out = table(["header", "s to parse", "s for the headers it includes", "ratio",
                     "ratio of CPU time", "headers it includes"], rows)
        out += (f"\n\n{c.get('compiler', '?')}, `{c.get('command', '?')}`; "
                f"medians of {c.get('runs', '?')} runs each, interleaved; "
                f"{c.get('date', '?')}, load average at start "
                f"{' '.join(c.get('load_average_at_start', []))}.")
        return out

    def fastpath_section(self):
        rows = []
        for key, label in DESIGNS:
            cells = [label]
            for type_ in ("int", "string"):
                b = get_run(self.handle, key, type_, 1)
                s = get_run(self.handle, "static", type_, 1)
                cells += [ns(b and b["real_ns"]), ratio(b and b["real_ns"], s and s["real_ns"]),
                          ns(b and b["cpu_ns"])]
            rows.append(cells)
        out = table(["design (1 thread)", "int: ns/access (real)", "vs static",
                     "int: CPU ns", "string: ns/access (real)", "vs static",
                     "string: CPU ns"], rows)
        clock = self.handle.get("BM_Reference/steady_clock_now")
        if clock:
            out += (f"\n\nFor reference, `std::chrono::steady_clock::now()` costs "
                    f"{ns(clock['real_ns'])} ns ({ns(clock['cpu_ns'])} ns CPU) here; "
                    "`lease()` no longer reads it: repeated leases of the most recently used "
                    "value keep their stamp, and the registry's idle check advances it.")
        return out

    def scaling_section(self, type_):
        rows = []
        for key, label in DESIGNS:
            cells = [label]
            for t in THREADS:
                cells.append(gops(get_run(self.handle, key, type_, t)))
            one = get_run(self.handle, key, type_, 1)
            two = get_run(self.handle, key, type_, 2)
            cells.append(ratio(two and two["items_per_second"], one and one["items_per_second"]))
            cells.append(ns(one and one["cpu_ns"]))
            cells.append(ns(two and two["cpu_ns"]))
            rows.append(cells)
        return table(["design"] + [f"{t} thr" for t in THREADS] +
                     ["2 thr / 1 thr", "CPU ns/access, 1 thr", "CPU ns/access, 2 thr"], rows)

    def chained_section(self):
        rows = []
        base = self.handle.get("BM_Chained/global")
        for key, label in (("global", "plain member (floor)"),
                           ("inline_flag", "inline storage + atomic<bool> (prototype)"),
                           ("lazy_get", "**LazyHandle::get()** (pointer to a heap value)")):
            b = self.handle.get(f"BM_Chained/{key}")
            rows.append((label, ns(b and b["real_ns"]),
                         "" if key == "global" else
                         f"+{(b['real_ns'] - base['real_ns']):.2f} ns" if b and base else "n/a"))
        return table(["design", "ns per dependent access", "over the floor"], rows)

    def contended_section(self):
        rows = []
        for n in (2, 4, 8, 16):
            for key, label in (("lazy_get", "LazyHandle::get()"),
                               ("std_call_once", "std::call_once"),
                               ("absl_call_once", "absl::call_once"),
                               ("inline_flag", "inline prototype (mutex held during load)")):
                b = self.wake(key, n)
                if not b:
                    continue
                rows.append((n, label, f"{b['wake_median_us']:.1f}", f"{b['wake_p99_us']:.0f}",
                             f"{b['waiters_per_round']:.1f}", f"{b['real_ns'] / 1e3:.0f}"))
        return table(["threads", "design", "wake median (us)", "wake p99 (us)",
                      "waiters per round", "round (us)"], rows)

    def throw_section(self):
        rows = []
        for n in (2, 4, 8, 16):
            b = self.handle.get(f"BM_ContendedThrowOnce/lazy_get/{n}/iterations:50/manual_time")
            if b:
                rows.append((n, f"{b['all_have_value_median_us'] / 1e3:.2f}",
                             f"{b['errors_per_round']:.2f}"))
        return table(["threads", "release to all threads holding the value (ms)",
                      "LoadErrors seen per round"], rows)

    def call_once_section(self):
        status = {}
        path = os.path.join(self.dir, "call_once_retry_status.txt")
        if os.path.exists(path):
            for line in open(path):
                name, code = line.split()
                status[name] = int(code)

        def outcome(name):
            if name not in status:
                return "not run"
            code = status[name]
            if code == 0:
                return "returned; the callable ran again (2 runs)"
            if code == 124:
                return "**hung**: killed by `timeout 10` (exit 124)"
            return f"failed (exit {code})"

        def last_line(name):
            p = os.path.join(self.dir, f"call_once_retry_{name}.txt")
            if not os.path.exists(p):
                return ""
            lines = [l.strip() for l in open(p) if l.strip()]
            return f"`{lines[-1]}`" if lines else ""

        rows = [
            ("`std::call_once`", "1 and 2", outcome("std"), last_line("std")),
            ("`absl::call_once`", "1: one thread, call again after the throw",
             outcome("absl_case1"), last_line("absl_case1")),
            ("`absl::call_once`", "2: a waiter blocked while the first call throws",
             outcome("absl_case2"), last_line("absl_case2")),
            ("`LazyHandle::get()`", "1 and 2", outcome("lazyload"), last_line("lazyload")),
        ]
        return table(["", "case", "what happened here", "last line printed"], rows)

    def registry_section(self):
        rows = []
        for t in THREADS:
            a = self.registry.get(f"BM_RegistryGet/by_name/real_time/threads:{t}")
            k = self.registry.get(f"BM_RegistryGet/kept_handle/real_time/threads:{t}")
            rows.append((t, ns(a and a["real_ns"]), ns(a and a["cpu_ns"]),
                         "n/a" if not a else f"{a['allocs_per_op']:g}",
                         ns(k and k["real_ns"])))
        lookup = table(["threads", "`get<int>(name)` ns/op (aggregate)",
                        "CPU ns per op", "allocations per op",
                        "kept handle `get()` ns/op (aggregate)"], rows)
        rows = []
        for n in (10, 1000, 10000, 100000):
            b = self.registry.get(f"BM_RegistrySnapshot/{n}")
            d = self.registry.get(f"BM_DumpStatus/{n}")
            m = self.registry.get(f"BM_Prometheus/{n}")
            if b:
                rows.append((f"{n:,}", f"{b['real_ns'] / 1e3:,.1f}", ns(b["real_ns"] / n),
                             f"{b['allocs_per_entry']:.2f}",
                             "n/a" if not d else f"{d['real_ns'] / 1e3:,.1f}",
                             "n/a" if not d else ns(d["real_ns"] / n),
                             "n/a" if not m else f"{m['real_ns'] / 1e3:,.1f}",
                             "n/a" if not m else ns(m["real_ns"] / n)))
        snap = table(["entries", "`snapshot()` us", "ns per entry",
                      "operator new calls per entry", "`dump_status()` us",
                      "ns per entry", "`to_prometheus()` us", "ns per entry"], rows)
        rows = []
        add = self.registry.get("BM_RegistryAdd/100000")
        if add:
            rows.append(("`add()` x 100,000 into a fresh registry", f"{add['real_ns'] / 1e6:.0f} ms",
                         f"{ns(add['real_ns'] / 100000)} ns"))
        bg = self.registry.get("BM_Background/registry/10000/real_time")
        bare = self.registry.get("BM_Background/bare_queue/10000/real_time")
        if bg:
            rows.append(("`start_background()` + `wait_idle()`, 10,000 trivial loaders, 2 workers",
                         f"{bg['real_ns'] / 1e6:.2f} ms", f"{ns(bg['real_ns'] / 10000)} ns"))
        if bare:
            rows.append(("bare loop: 2 threads popping 10,000 `std::function`s",
                         f"{bare['real_ns'] / 1e6:.2f} ms", f"{ns(bare['real_ns'] / 10000)} ns"))
        if bg and bare:
            rows.append(("registry scheduling overhead over the bare loop", "",
                         f"{ns((bg['real_ns'] - bare['real_ns']) / 10000)} ns per entry "
                         f"({bg['real_ns'] / bare['real_ns']:.1f}x)"))
        other = table(["operation", "total", "per entry"], rows)
        return lookup, snap, other

    def startup_section(self):
        if not self.startup:
            return "no startup results"
        rows = []
        label = {"eager": "eager: load all, then serve",
                 "lazy": "lazy: register, serve",
                 "background_w2": "background, 2 workers",
                 "background_w4": "background, 4 workers",
                 "background_w8": "background, 8 workers"}
        for m in self.startup["modes"]:
            all_ms = m["all_loaded_ms"]
            rows.append((label.get(m["mode"], m["mode"]), f"{m['ready_ms']:,.2f}",
                         f"{m['first_result_ms']:,.2f}",
                         "never (loads on demand)" if all_ms < 0 else f"{all_ms:,.0f}"))
        head = (f"{self.startup['resources']:,} resources of {self.startup['load_ms']} ms "
                f"each (a sleep), median of {self.startup['repetitions']} runs, "
                "milliseconds from the start of each run.\n\n")
        return head + table(["startup", "ready (ms)", "first result (ms)",
                             "all loaded (ms)"], rows)

    def memory_section(self):
        rows = []
        labels = {"lazy_handle": "`LazyHandle<int>`",
                  "inline_flag": "inline storage + atomic<bool> + mutex + std::function (prototype)",
                  "std_call_once": "`std::once_flag` + int",
                  "absl_call_once": "`absl::once_flag` + int",
                  "mutex_optional": "`std::mutex` + `std::optional<int>`",
                  "shared_ptr_mutex": "`std::mutex` + `std::shared_ptr<int>`"}
        for key, label in labels.items():
            b = self.handle.get(f"BM_Memory/{key}/iterations:1")
            if b:
                rows.append((label, f"{b['sizeof']:.0f}", f"{b['heap_allocs']:.0f}",
                             f"{b['heap_bytes']:.0f}", f"{b['heap_usable_bytes']:.0f}"))
        designs = table(["design (value: int)", "sizeof (bytes)",
                         "heap allocations (construct + load)", "heap bytes requested",
                         "heap bytes (malloc_usable_size)"], rows)
        b = self.registry.get("BM_RegistryMemory/10000/iterations:1")
        if not b:
            return designs, ""
        rows = [("`add()` (entry, handle, name, map node, loader)",
                 f"{b['add_allocs_per_entry']:.2f}", f"{b['add_bytes_per_entry']:.0f}",
                 f"{b['add_usable_bytes_per_entry']:.0f}"),
                ("first load (value, control block, timeline record)",
                 f"{b['load_allocs_per_entry']:.2f}", f"{b['load_bytes_per_entry']:.0f}",
                 f"{b['load_usable_bytes_per_entry']:.0f}")]
        return designs, table(["registry, per entry over 10,000 entries",
                               "allocations", "bytes requested",
                               "bytes (malloc_usable_size)"], rows)

    def callgrind_section(self):
        if not self.callgrind:
            return "no callgrind results"
        labels = [("fastpath_global", "plain global"),
                  ("fastpath_static", "function-local static"),
                  ("fastpath_lazy_get", "**LazyHandle::get()**"),
                  ("fastpath_lazy_try_get", "LazyHandle::try_get()"),
                  ("fastpath_inline_flag", "inline storage + atomic<bool>"),
                  ("fastpath_absl_call_once", "absl::call_once"),
                  ("fastpath_std_call_once", "std::call_once")]
        n = self.callgrind["n"]
        rows = []
        static = self.ir("fastpath_static")
        for fn, label in labels:
            f = self.callgrind["functions"].get(fn)
            if not f:
                continue
            rows.append((label, f"`{fn}`", f"{f['ir_per_call']:g}",
                         ratio(f["ir_per_call"], static),
                         f"{f['ir_n_run1']:,} / {f['ir_n_run2']:,}",
                         "yes" if f["repeats_exactly"] else "**no**"))
        return table(["design", "function", "Ir per call", "vs static",
                      f"Ir at N={n:,}, run 1 / run 2", "repeats exactly"], rows)

    def objdump_section(self):
        if not self.fastpath:
            return "no objdump results"
        out = []
        for fn in ("fastpath_lazy_get", "fastpath_static", "fastpath_std_call_once"):
            f = self.fastpath.get(fn)
            if not f:
                continue
            locked = "none" if not f["locked"] else ", ".join(f["locked"])
            stores = "none" if not f["stores"] else f"{len(f['stores'])}"
            out.append(f"`{fn}`, loaded path ({f['instructions']} instructions; "
                       f"locked: {locked}; stores: {stores}):\n\n```\n" +
                       "\n".join(f["loaded_path"]) + "\n```")
        return "\n\n".join(out)

    def headline_section(self):
        rows = []
        lazy, static, r = self.t1("int")
        std = get_run(self.handle, "std_call_once", "int", 1)
        mutex = get_run(self.handle, "mutex", "int", 1)
        if r is not None:
            rows.append(("loaded `get()`, 1 thread",
                         f"{ns(lazy)} ns; function-local static {ns(static)} ns ({r:.2f}x); "
                         f"`std::call_once` {ns(std and std['real_ns'])} ns; "
                         f"mutex {ns(mutex and mutex['real_ns'])} ns"))
        ir_lazy, ir_static = self.ir("fastpath_lazy_get"), self.ir("fastpath_static")
        if ir_lazy is not None:
            rows.append(("instructions per loaded `get()` (callgrind)",
                         f"{ir_lazy:g}; function-local static {ir_static:g}; "
                         f"`std::call_once` {self.ir('fastpath_std_call_once'):g}"))
        eager, bg = self.startup_mode("eager"), self.startup_mode("background_w4")
        lazy_m = self.startup_mode("lazy")
        if eager and bg and lazy_m:
            rows.append((f"startup, {self.startup['resources']:,} resources x "
                         f"{self.startup['load_ms']} ms",
                         f"eager ready in {eager['ready_ms'] / 1e3:.2f} s; lazy ready in "
                         f"{lazy_m['ready_ms']:.2f} ms, first result {lazy_m['first_result_ms']:.2f} ms; "
                         f"background (4 workers) ready in {bg['ready_ms']:.2f} ms, "
                         f"all loaded in {bg['all_loaded_ms'] / 1e3:.2f} s"))
        a = self.registry.get("BM_RegistryGet/by_name/real_time/threads:1")
        if a:
            rows.append(("`registry.get<T>(name)`, 1 thread",
                         f"{ns(a['real_ns'])} ns, {a['allocs_per_op']:g} allocations"))
        a = self.handle.get("BM_Memory/lazy_handle/iterations:1")
        if a:
            rows.append(("`sizeof(LazyHandle<int>)`",
                         f"{a['sizeof']:.0f} bytes, plus {a['heap_bytes']:.0f} heap bytes (its state, made at construction, and the value)"))
        return table(["", "median, this machine (2 CPUs, shared)"], rows)


def replace_block(text, name, body):
    pattern = re.compile(r"(<!-- generated:%s -->\n).*?(<!-- end:%s -->)" % (name, name),
                         re.S)
    if not pattern.search(text):
        raise SystemExit(f"report.py: no block '{name}' in the document")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def library_section(r):
    """LazySymbol against a function pointer and a direct call (library.hpp)."""
    rows = []
    pointer = r.library.get("BM_FunctionPointerCall/threads:1")
    for label, name in (("direct call (through the PLT)", "BM_DirectCall"),
                        ("function pointer", "BM_FunctionPointerCall"),
                        ("`LazySymbol` (resolved)", "BM_LazySymbolCall")):
        one = r.library.get(f"{name}/threads:1")
        two = None
        for key, b in r.library.items():
            if key.startswith(f"{name}/threads:") and key != f"{name}/threads:1":
                two = b
        rows.append((label, ns(one and one["real_ns"]),
                     ratio(one and one["real_ns"], pointer and pointer["real_ns"]),
                     ns(two and two["cpu_ns"])))
    resolve = r.library.get("BM_LazySymbolResolve/threads:1")
    text = table(["call", "ns per call, 1 thread", "vs function pointer",
                  "CPU ns per call, one thread per CPU"], rows)
    if resolve:
        text += (f"\n\nResolving a symbol of an open library (`dlsym` under the lock): "
                 f"{ns(resolve['real_ns'])} ns.")
    return text


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    results, results_md, readme = argv[1:]
    r = Report(results)
    lookup, snap, other = r.registry_section()
    designs, per_entry = r.memory_section()
    blocks = {
        "machine": r.machine_section(),
        "targets": r.targets_section(),
        "fastpath": r.fastpath_section(),
        "scaling-int": r.scaling_section("int"),
        "scaling-string": r.scaling_section("string"),
        "chained": r.chained_section(),
        "contended": r.contended_section(),
        "throw-once": r.throw_section(),
        "call-once": r.call_once_section(),
        "lookup": lookup,
        "snapshot": snap,
        "scheduling": other,
        "startup": r.startup_section(),
        "memory": designs,
        "memory-registry": per_entry,
        "callgrind": r.callgrind_section(),
        "objdump": r.objdump_section(),
        "headline": r.headline_section(),
        "library": library_section(r),
        "compile-time": r.compile_section(),
    }
    with open(results_md) as f:
        text = f.read()
    for name, body in blocks.items():
        if name != "headline" or "<!-- generated:headline -->" in text:
            text = replace_block(text, name, body)
    with open(results_md, "w") as f:
        f.write(text)
    with open(readme) as f:
        text = f.read()
    text = replace_block(text, "headline", blocks["headline"])
    with open(readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv)
