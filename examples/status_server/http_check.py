"""Drives status_server with real HTTP requests: every route and error.

Usage: /usr/bin/python3 http_check.py STATUS_SERVER

Starts the server on a free 127.0.0.1 port four times: with --no-background
and a control token, to check each answer from a known state; read-only (no
token), to check that every POST is refused; with slow loads, to check that
twenty load requests at once answer at once and /healthz keeps answering;
and with background loading, to check that readiness comes and that SIGINT
stops it cleanly.
"""

import json
import signal
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from serverctl import Server, request, wait_until

RESUME = "r\u00e9sum\u00e9 ranker"
NAMES = ["config", "torch", "tokenizer", "bert", "plugin/ocr", RESUME]
TOKEN = "s3cret-token"
AUTH = {"Authorization": "Bearer " + TOKEN}
FAILURE = ("lazyload: loading 'plugin/ocr' failed: "
           "libtesseract.so.5: cannot open shared object file")

checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        raise AssertionError(what)


def expect(response, status, content_type):
    check(response.status == status,
          "status %d, expected %d: %r" % (response.status, status, response.body))
    got = response.headers.get("Content-Type", "")
    check(got == content_type, "content type %r, expected %r" % (got, content_type))


def get_json(url, status=200, method="GET", body=None, headers=None):
    if headers is None and method == "POST":
        headers = AUTH
    r = request(url, method=method, body=body, headers=headers)
    expect(r, status, "application/json")
    return json.loads(r.text())


def on_demand(program):
    with Server(program, "--no-background", "--time-scale", "0.2",
                "--control-token", TOKEN) as server:
        base = server.url

        r = request(base + "healthz")
        expect(r, 200, "text/plain; charset=utf-8")
        check(r.text() == "ok\n", "healthz body %r" % r.body)

        ready = get_json(base + "readyz", 503)
        check(ready["ready"] is False, "ready before loading")
        check(ready["not_ready"] == ["config", "torch"], "not_ready %r" % ready)
        check(ready["entries"]["torch"]["status"] == "unloaded", "torch entry")

        status = get_json(base + "api/status")
        check(list(status["entries"]) == NAMES, "names %r" % list(status["entries"]))
        check(status["progress"]["unloaded"] == 6, "all unloaded")
        check(status["progress"]["memory_budget"] == 2048 * 1024 * 1024, "budget")

        r = request(base + "metrics")
        expect(r, 200, "text/plain; version=0.0.4; charset=utf-8")
        check('lazyload_entry_state{name="torch",status="unloaded"} 1\n' in r.text(),
              "state gauge")
        check('lazyload_entries{status="unloaded"} 6\n' in r.text(), "totals")

        r = request(base)
        expect(r, 200, "text/html; charset=utf-8")
        check("<title>lazyload status</title>" in r.text(), "page title")

        # With ?wait=1 a load answers when done: the answer is the loaded entry.
        entry = get_json(base + "api/load/config?wait=1", method="POST")
        check(entry["name"] == "config" and entry["status"] == "loaded", repr(entry))
        entry = get_json(base + "api/load/torch?wait=1", method="POST",
                         body=b"ignored body")
        check(entry["status"] == "loaded" and entry["loads"] == 1, repr(entry))
        check(entry["stage"] == "ready" and entry["progress"] == 1.0, repr(entry))
        ready = get_json(base + "readyz")
        check(ready == {"ready": True, "not_ready": []}, "ready %r" % ready)
        trace = get_json(base + "api/trace")
        loads = [e for e in trace["traceEvents"] if e["ph"] == "X"]
        check([e["name"] for e in loads] == ["config", "torch"], "trace %r" % loads)

        # A failing load: 500 with the message; the slash is sent as %2F.
        failed = get_json(base + "api/load/plugin%2Focr?wait=1", 500, method="POST")
        check(failed["error"] == FAILURE, "error %r" % failed["error"])
        check(failed["entry"]["status"] == "failed", repr(failed))

        # A UTF-8 name with a space, percent-encoded.
        encoded = "r%C3%A9sum%C3%A9%20ranker"
        entry = get_json(base + "api/load/" + encoded + "?wait=true", method="POST")
        check(entry["name"] == RESUME and entry["status"] == "loaded", repr(entry))
        entry = get_json(base + "api/unload/" + encoded, method="POST")
        check(entry["status"] == "unloaded" and entry["loads"] == 1, repr(entry))

        # Errors.
        missing = get_json(base + "api/load/ghost", 404, method="POST")
        check(missing == {"error": "lazyload: resource 'ghost' is not registered"},
              repr(missing))
        missing = get_json(base + "api/unload/no%20such", 404, method="POST")
        check(missing["error"] == "lazyload: resource 'no such' is not registered",
              repr(missing))
        nope = get_json(base + "nope", 404)
        check(nope == {"error": "lazyload: no route for '/nope'"}, repr(nope))
        r = request(base + "api/status", method="DELETE")
        expect(r, 405, "application/json")
        check(r.headers.get("Allow") == "GET, HEAD", "Allow %r" % r.headers.get("Allow"))
        check(json.loads(r.text())["error"] ==
              "lazyload: method 'DELETE' is not allowed for '/api/status'", r.text())
        r = request(base + "api/load/torch")
        expect(r, 405, "application/json")
        check(r.headers.get("Allow") == "POST", "Allow %r" % r.headers.get("Allow"))
        bad = get_json(base + "api/load/%zz", 400, method="POST")
        check(bad["error"] == "lazyload: bad percent-encoding in '%zz'", repr(bad))

        # Without the token, or with another one: 401, and nothing changes.
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Bearer " + TOKEN + "x"},
                        {"Authorization": TOKEN}):
            r = request(base + "api/unload/torch", method="POST", headers=headers)
            expect(r, 401, "application/json")
            check(r.headers.get("WWW-Authenticate") == "Bearer", repr(r.headers))
        # The page has buttons only for a request with the token.
        check("const control = true;" in request(base, headers=AUTH).text(),
              "control page")
        check("const control = false;" in request(base).text(), "read-only page")

        r = request(base + "api/status?pretty=1", method="HEAD")
        check(r.status == 200 and r.body == b"", "HEAD %d %r" % (r.status, r.body))

        status = get_json(base + "api/status")
        got = {name: e["status"] for name, e in status["entries"].items()}
        check(got == {"config": "loaded", "torch": "loaded", "tokenizer": "unloaded",
                      "bert": "unloaded", "plugin/ocr": "failed", RESUME: "unloaded"},
              "statuses %r" % got)
        metrics = request(base + "metrics").text()
        check('lazyload_entry_state{name="plugin/ocr",status="failed"} 1\n' in metrics,
              "failed gauge")
        check('lazyload_entry_failures_total{name="plugin/ocr"} 1\n' in metrics,
              "failure counter")

        code = server.stop(signal.SIGTERM)
        check(code == 0, "exit code %d on SIGTERM" % code)
        check("status_server: stopped (SIGTERM)" in server.output(), server.output())


def read_only(program):
    with Server(program, "--no-background", "--time-scale", "0.2") as server:
        base = server.url
        check("read-only" in server.output(), server.output())
        for path in ("api/load/config", "api/load/config?wait=1",
                     "api/unload/config"):
            for headers in ({}, AUTH):
                refused = get_json(base + path, 403, method="POST", headers=headers)
                check("control is off" in refused["error"] and
                      "RespondOptions{.control = true}" in refused["error"],
                      repr(refused))
        status = get_json(base + "api/status")
        check(status["progress"]["unloaded"] == 6, "nothing loaded %r" % status)
        check("const control = false;" in request(base, headers=AUTH).text(),
              "read-only page")
        check(server.stop(signal.SIGTERM) == 0, "exit code on SIGTERM")


def many_slow_loads(program):
    """Twenty load requests at once, each load taking seconds."""
    with Server(program, "--no-background", "--time-scale", "5",
                "--control-token", TOKEN) as server:
        base = server.url
        answers = []

        def post(name):
            start = time.monotonic()
            r = request(base + "api/load/" + urllib.parse.quote(name, safe=""),
                        method="POST", headers=AUTH)
            answers.append((r.status, time.monotonic() - start))

        threads = [threading.Thread(target=post, args=(NAMES[i % len(NAMES)],))
                   for i in range(20)]
        for t in threads:
            t.start()
        # /healthz answers promptly while the loads run.
        for _ in range(10):
            start = time.monotonic()
            r = request(base + "healthz", timeout=10)
            elapsed = time.monotonic() - start
            check(r.status == 200 and r.text() == "ok\n", "healthz %d" % r.status)
            check(elapsed < 1.0, "healthz took %.2f s during the loads" % elapsed)
            time.sleep(0.1)
        for t in threads:
            t.join(timeout=30)
        check(len(answers) == 20, "answers %r" % answers)
        for status, elapsed in answers:
            check(status in (200, 202), "load answered %d" % status)
            # At once, not after the load: 'bert' alone takes 7.5 s here.
            check(elapsed < 3.0, "a load request took %.2f s" % elapsed)
        status = get_json(base + "api/status")
        check(status["progress"]["is_loading"] is True,
              "the loads should still run: %r" % status["progress"])
        check(server.stop(signal.SIGTERM) == 0, "exit code on SIGTERM")


def sigterm_mid_load(program):
    """SIGTERM while a 30 s load runs, and a request waits on it: exit < 1 s."""
    with Server(program, "--no-background", "--time-scale", "20",
                "--control-token", TOKEN) as server:
        base = server.url
        answered = []

        def wait_for_load():
            try:
                r = request(base + "api/load/bert?wait=1", method="POST",
                            headers=AUTH, timeout=60)
                answered.append(r.status)
            except Exception as e:  # the server may close the connection
                answered.append(repr(e))

        waiter = threading.Thread(target=wait_for_load)
        waiter.start()
        wait_until("bert to be loading", lambda: get_json(
            base + "api/status")["entries"]["bert"]["status"] == "loading")
        start = time.monotonic()
        code = server.stop(signal.SIGTERM)
        elapsed = time.monotonic() - start
        check(code == 0, "exit code %d on SIGTERM" % code)
        check(elapsed < 1.0, "exit took %.2f s after SIGTERM mid-load" % elapsed)
        check("status_server: stopped (SIGTERM)" in server.output(), server.output())
        waiter.join(timeout=30)
        check(len(answered) == 1, "the waiting request ended: %r" % answered)


def background(program):
    with Server(program, "--time-scale", "0.2") as server:
        base = server.url
        wait_until("readiness", lambda: request(base + "readyz").status == 200)

        def idle():
            s = get_json(base + "api/status")
            return s if not s["progress"]["is_loading"] else None
        status = wait_until("the background pass to finish", idle)
        got = {name: e["status"] for name, e in status["entries"].items()}
        check(got == {n: "failed" if n == "plugin/ocr" else "loaded" for n in NAMES},
              "statuses %r" % got)
        check(status["entries"]["plugin/ocr"]["error"] == FAILURE, "background error")

        code = server.stop(signal.SIGINT)
        check(code == 0, "exit code %d on SIGINT" % code)
        out = server.output()
        check("status_server: stopped (SIGINT)" in out, out)
        check("6 entries: 5 loaded, 0 loading, 0 queued, 1 failed, 0 unloaded" in out, out)


def main():
    program = sys.argv[1]
    on_demand(program)
    read_only(program)
    many_slow_loads(program)
    sigterm_mid_load(program)
    background(program)
    print("ok: %d checks passed" % checks)


if __name__ == "__main__":
    main()
