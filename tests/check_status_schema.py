"""Validates real lazyload status JSON against docs/status.schema.json.

Usage: /usr/bin/python3 check_status_schema.py SCHEMA PROGRAM

Runs PROGRAM (tests/status_json_sample.cpp), which prints the status of a
registry with an entry in each of the five statuses under awkward names, and
checks that the output is UTF-8, parses as JSON, validates against SCHEMA,
adds up, and covers what it should. Then checks that the schema rejects
broken copies, so that a schema that accepts anything fails this test.
Needs Debian's python3-jsonschema (for /usr/bin/python3); prints SKIP and
exits 0 without it.
"""

import copy
import json
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed for " + sys.executable)
    sys.exit(0)

STATUSES = ["unloaded", "queued", "loading", "loaded", "failed"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    schema_path, program = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    run = subprocess.run([program], capture_output=True, timeout=60, check=False)
    if run.returncode != 0:
        fail("%s exited with %d: %s" % (program, run.returncode, run.stderr))
    try:
        text = run.stdout.decode("utf-8")  # strict: invalid UTF-8 fails
    except UnicodeDecodeError as e:
        fail("the output is not UTF-8: %s" % e)
    doc = json.loads(text)

    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print("schema error at %s: %s" % ("/".join(map(str, e.path)), e.message))
    if errors:
        fail("%d schema errors" % len(errors))

    # What a schema cannot say: the counts add up and match the entries.
    progress, entries = doc["progress"], doc["entries"]
    if sum(progress[s] for s in STATUSES) != progress["total"]:
        fail("the counts do not add up to total")
    if len(entries) != progress["total"]:
        fail("total is not the number of entries")
    for s in STATUSES:
        n = sum(1 for e in entries.values() if e["status"] == s)
        if n != progress[s]:
            fail("%d entries are %s but progress says %d" % (n, s, progress[s]))
        if n == 0:
            fail("the sample has no %s entry" % s)
    for key, entry in entries.items():
        if entry["name"] != key:
            fail("entry %r is named %r" % (key, entry["name"]))
    if progress["ready"] != (progress["not_ready"] == []):
        fail("ready disagrees with not_ready")
    if abs(progress["progress"] * 100 - progress["progress_percentage"]) > 0.005:
        fail("progress_percentage is not progress * 100")
    # (Names are valid UTF-8: the registry refuses others, so no U+FFFD.)
    names = "".join(entries)
    for awkward in ['"', "\\", "\n", "\x01", "/", "\u6a21"]:
        if awkward not in names:
            fail("no name holds %r" % awkward)

    # The schema must reject broken documents.
    def mutated(change):
        broken = copy.deepcopy(doc)
        change(broken)
        return broken

    first = next(iter(doc["entries"]))
    broken_docs = {
        "an unknown status": lambda d: d["entries"][first].update(status="done"),
        "a load_time string": lambda d: d["entries"][first].update(load_time="5 s"),
        "a missing error key": lambda d: d["entries"][first].pop("error"),
        "an undocumented key": lambda d: d["entries"][first].update(extra=1),
        "a size of 0 (unknown is null)": lambda d: d["entries"][first].update(size_bytes=0),
        "a local timestamp": lambda d: d["entries"][first].update(
            last_loaded_at="2025-11-25 04:35:02"),
        "a negative count": lambda d: d["progress"].update(loaded=-1),
        "a missing not_ready": lambda d: d["progress"].pop("not_ready"),
        "a progress fraction above 1": lambda d: d["progress"].update(progress=25.0),
        "an unknown pressure": lambda d: d["progress"].update(pressure="high"),
        "a first_load of 0 (not yet is null)": lambda d: d["entries"][first].update(first_load=0),
        "a missing uses": lambda d: d["entries"][first].pop("uses"),
    }
    for what, change in broken_docs.items():
        if validator.is_valid(mutated(change)):
            fail("the schema accepts " + what)

    print("ok: %d entries in every status validate against %s; %d broken "
          "copies rejected" % (len(entries), schema_path, len(broken_docs)))


if __name__ == "__main__":
    main()
