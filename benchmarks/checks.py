#!/usr/bin/env python3
"""Helpers of tools/bench.sh that turn tool output into JSON.

  checks.py machine BUILD_DIR              the machine, compiler and flags
  checks.py callgrind N RUN_A RUN_B RUN_2N  Ir per call from callgrind_annotate
  checks.py objdump OBJDUMP_TXT            locked instructions and stores on
                                           each function's loaded path
"""

import json
import os
import platform
import re
import subprocess
import sys


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return ""


def machine(build):
    lscpu = {}
    for line in run(["lscpu"]).splitlines():
        key, _, value = line.partition(":")
        lscpu[key.strip()] = value.strip()
    compiler = ""
    flags = ""
    commands = os.path.join(build, "compile_commands.json")
    if os.path.exists(commands):
        with open(commands) as f:
            for entry in json.load(f):
                if entry["file"].endswith("handle_benchmark.cpp"):
                    words = entry["command"].split()
                    compiler = words[0]
                    keep = [w for w in words[1:]
                            if w.startswith(("-O", "-f", "-W", "-m", "-std", "-D"))
                            and not w.startswith("-Werror=")]
                    flags = " ".join(keep)
    cxx = compiler or "g++"

    def pkg(name):
        return run(["dpkg-query", "-W", "-f=${Version}", name])

    out = {
        "cpu_model": lscpu.get("Model name", platform.processor()),
        "cpus": lscpu.get("CPU(s)", ""),
        "threads_per_core": lscpu.get("Thread(s) per core", ""),
        # As the (virtual) CPU reports them to getconf.
        "l1d_bytes": run(["getconf", "LEVEL1_DCACHE_SIZE"]),
        "l2_bytes": run(["getconf", "LEVEL2_CACHE_SIZE"]),
        "l3_bytes": run(["getconf", "LEVEL3_CACHE_SIZE"]),
        "kernel": platform.release(),
        "os": run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "glibc": run(["sh", "-c", "ldd --version | head -1"]),
        "compiler": run([cxx, "--version"]).splitlines()[0] if run([cxx, "--version"]) else cxx,
        "flags": flags,
        "libbenchmark": pkg("libbenchmark-dev"),
        "libabsl": pkg("libabsl-dev"),
        "valgrind": run(["valgrind", "--version"]),
        "commit": run(["git", "rev-parse", "--short", "HEAD"]),
        "date": run(["date", "-u", "+%Y-%m-%d %H:%M UTC"]),
        "load_average_at_start": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(out, indent=2))


LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+\S*:(fastpath_\w+)\s")


def read_ir(path):
    ir = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                ir[m.group(2)] = int(m.group(1).replace(",", ""))
    return ir


def callgrind(n, run_a, run_b, run_2n):
    n = int(n)
    a, b, c = read_ir(run_a), read_ir(run_b), read_ir(run_2n)
    functions = {}
    for name in sorted(a):
        functions[name] = {
            "ir_n_run1": a[name],
            "ir_n_run2": b.get(name),
            "ir_2n": c.get(name),
            "repeats_exactly": a[name] == b.get(name),
            "ir_per_call": (c.get(name, 0) - a[name]) / n,
        }
    print(json.dumps({"n": n, "inclusive": True, "functions": functions},
                     indent=2))


INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
HEADER = re.compile(r"^[0-9a-f]+ <(\w+)>:")
NO_WRITE = {"cmp", "test", "jmp", "je", "jne", "call", "ret", "nop", "bt"}


def objdump(path):
    functions = {}
    name = None
    with open(path) as f:
        for line in f:
            h = HEADER.match(line)
            if h:
                name = h.group(1)
                functions[name] = []
                continue
            m = INSN.match(line)
            if m and name is not None:
                functions[name].append(m.group(2).split("#")[0].strip())
    out = {}
    for name, insns in functions.items():
        path_insns = []
        for insn in insns:  # the loaded path: fall-through to the first ret
            path_insns.append(insn)
            if insn.split()[0] in ("ret", "retq"):
                break
        locked, stores = [], []
        for insn in path_insns:
            words = insn.split(None, 1)
            mnemonic = words[0]
            operands = words[1] if len(words) > 1 else ""
            if mnemonic in ("lock", "xchg", "mfence") or mnemonic.startswith(
                    ("lock", "cmpxchg", "xadd")):
                locked.append(insn)
            last = operands.rsplit(",", 1)[-1] if "," in operands else ""
            base = mnemonic.rstrip("bwlq")
            if ("(" in last and base not in NO_WRITE and
                    mnemonic not in NO_WRITE) or mnemonic.startswith("push"):
                stores.append(insn)
            if mnemonic.startswith("call"):
                stores.append(insn + "  (pushes a return address; callee not shown)")
        out[name] = {
            "loaded_path": path_insns,
            "instructions": len(path_insns),
            "locked": locked,
            "stores": stores,
        }
    print(json.dumps(out, indent=2))


def main(argv):
    if len(argv) >= 3 and argv[1] == "machine":
        machine(argv[2])
    elif len(argv) == 6 and argv[1] == "callgrind":
        callgrind(*argv[2:])
    elif len(argv) == 3 and argv[1] == "objdump":
        objdump(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
