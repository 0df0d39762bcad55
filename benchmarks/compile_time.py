#!/usr/bin/env python3
"""How long a lazyload header takes to parse, against the headers it includes.

  compile_time.py [--runs N] [--cxx g++] [--out FILE] [HEADER ...]

For each header X (by default handle.hpp, registry.hpp, lazyload.hpp and each
adapter header that exists: json.hpp, fmt.hpp, prometheus.hpp, http.hpp) it
builds two one-line translation units:

  A  `#include <lazyload/X>`
  B  the standard (and, for an adapter, third-party) headers that X includes
     directly from any lazyload file it pulls in, and nothing else

The set for B comes from `CXX -std=c++17 -Iinclude -H -fsyntax-only` on A:
every header entered from a file under include/lazyload/ that is not itself
a lazyload file. B therefore parses the same non-lazyload code as A, so the
difference between the two is the cost of lazyload's own code and of what
it instantiates while being parsed.

Both are timed with `CXX -std=c++17 -fsyntax-only`, N times each (default
7), interleaved A/B/A/B so that noise from other processes falls on both
alike; the JSON written (default benchmarks/results/compile_time.json) gives
each header's medians (wall and CPU seconds), the ratio A/B of the wall
medians (the measure of issue 16, target 6) and of the CPU medians, and the
header sets. Standard library only.
"""

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
INCLUDE = os.path.join(ROOT, "include")
LAZYLOAD = os.path.join(INCLUDE, "lazyload")
HEADERS = ["handle.hpp", "registry.hpp", "lazyload.hpp"]
ADAPTERS = ["json.hpp", "fmt.hpp", "prometheus.hpp", "http.hpp"]
STD = "-std=c++17"


def search_dirs(cxx):
    """The compiler's #include <...> search list, in order, -Iinclude first."""
    out = subprocess.run([cxx, STD, "-Iinclude", "-xc++", "-E", "-v", os.devnull],
                         cwd=ROOT, capture_output=True, text=True, check=True).stderr
    dirs, inside = [], False
    for line in out.splitlines():
        if line.startswith("#include <...> search starts here"):
            inside = True
        elif line.startswith("End of search list"):
            break
        elif inside:
            dirs.append(os.path.realpath(os.path.join(ROOT, line.strip())))
    return dirs


def spelling(path, dirs):
    """How `#include <...>` names `path`: relative to the first search
    directory that finds it, so that B includes exactly that file."""
    path = os.path.realpath(path)
    for d in dirs:
        if path.startswith(d + os.sep):
            rel = os.path.relpath(path, d)
            found = next((os.path.realpath(os.path.join(e, rel)) for e in dirs
                          if os.path.exists(os.path.join(e, rel))), None)
            if found == path:
                return rel
    return None


def is_lazyload(path):
    return os.path.realpath(path).startswith(LAZYLOAD + os.sep)


def direct_includes(cxx, header, dirs, work):
    """The non-lazyload headers that lazyload files include when `header`
    is parsed, in the order they are first entered."""
    tu = os.path.join(work, "tree.cpp")
    with open(tu, "w") as f:
        f.write(f"#include <lazyload/{header}>\n")
    run = subprocess.run([cxx, STD, "-Iinclude", "-H", "-fsyntax-only", tu],
                         cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{header} does not compile on its own:\n{run.stderr}")
    stack = [tu]  # stack[d] is the file entered at depth d (0: the TU)
    found = []
    for line in run.stderr.splitlines():
        dots = len(line) - len(line.lstrip("."))
        if dots == 0 or not line[dots:].startswith(" "):
            continue  # "Multiple include guards may be useful for:" and the like
        path = os.path.normpath(os.path.join(ROOT, line[dots + 1:]))
        del stack[dots:]
        parent = stack[-1]
        stack.append(path)
        if (parent == tu or is_lazyload(parent)) and not is_lazyload(path):
            name = spelling(path, dirs)
            if name is None:
                raise RuntimeError(f"cannot name {path} in an #include")
            if name not in found:
                found.append(name)
    return found


def time_one(cxx, tu):
    """(wall seconds, CPU seconds of the compiler) of one -fsyntax-only."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run([cxx, STD, "-Iinclude", "-fsyntax-only", tu], cwd=ROOT,
                         capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise RuntimeError(f"{tu} does not compile:\n{run.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(cxx, header, runs, dirs, work):
    deps = direct_includes(cxx, header, dirs, work)
    a = os.path.join(work, header.replace(".", "_") + "_lazyload.cpp")
    b = os.path.join(work, header.replace(".", "_") + "_std.cpp")
    with open(a, "w") as f:
        f.write(f"#include <lazyload/{header}>\n")
    with open(b, "w") as f:
        f.write("".join(f"#include <{d}>\n" for d in deps))
    time_one(cxx, a)  # warm the page cache for both
    time_one(cxx, b)
    samples = {"lazyload_wall": [], "lazyload_cpu": [], "std_wall": [], "std_cpu": []}
    for _ in range(runs):
        for side, tu in (("lazyload", a), ("std", b)):
            wall, cpu = time_one(cxx, tu)
            samples[side + "_wall"].append(round(wall, 4))
            samples[side + "_cpu"].append(round(cpu, 4))
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "header": header,
        "lazyload_s": med["lazyload_wall"],
        "std_s": med["std_wall"],
        "ratio": round(med["lazyload_wall"] / med["std_wall"], 3),
        "lazyload_cpu_s": med["lazyload_cpu"],
        "std_cpu_s": med["std_cpu"],
        "cpu_ratio": round(med["lazyload_cpu"] / med["std_cpu"], 3),
        "included": deps,
        "samples": samples,
    }


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                 "compile_time.json"))
    p.add_argument("headers", nargs="*")
    args = p.parse_args(argv[1:])
    headers = args.headers or HEADERS + [
        h for h in ADAPTERS if os.path.exists(os.path.join(LAZYLOAD, h))]
    load = [f"{x:.2f}" for x in os.getloadavg()]
    dirs = search_dirs(args.cxx)
    version = subprocess.run([args.cxx, "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    results = []
    with tempfile.TemporaryDirectory() as work:
        for header in headers:
            try:
                r = measure(args.cxx, header, args.runs, dirs, work)
            except RuntimeError as e:  # an adapter whose library is missing
                print(f"compile_time: {header} skipped: {str(e).splitlines()[0]}",
                      file=sys.stderr)
                continue
            print(f"{header:16} {r['lazyload_s']:.3f} s vs {r['std_s']:.3f} s "
                  f"({len(r['included'])} headers): {r['ratio']:.2f}x "
                  f"(CPU {r['cpu_ratio']:.2f}x)")
            results.append(r)
    out = {
        "compiler": version,
        "command": f"{args.cxx} {STD} -Iinclude -fsyntax-only",
        "runs": args.runs,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": load,
        "headers": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
