"""Starts and stops status_server for the example's test scripts.

Every wait is bounded, every request goes to 127.0.0.1 without any proxy,
and the server is always killed at the end (use it as a context manager).
"""

import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

# No proxy, whatever the environment says: traffic stays on 127.0.0.1.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def text(self):
        return self.body.decode("utf-8")


def request(url, method="GET", body=None, timeout=30, headers=None):
    """Returns a Response for any status code (no exception on 4xx/5xx)."""
    assert url.startswith("http://127.0.0.1:"), url
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


class Server:
    """status_server on a free loopback port; its output goes to a log file."""

    def __init__(self, program, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="lazyload-status-")
        self.log_path = os.path.join(self.dir.name, "server.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [program, "--bind", "127.0.0.1", "--port", "0", *args],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = self._wait_for_url(timeout=30)

    def _wait_for_url(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"serving (http://127\.0\.0\.1:[0-9]+/)", self.output())
            if m:
                return m.group(1)
            if self.process.poll() is not None:
                raise RuntimeError("status_server exited early:\n" + self.output())
            time.sleep(0.05)
        raise RuntimeError("status_server did not listen within %d s" % timeout)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends `sig` and returns the exit code (killing it after timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise RuntimeError("status_server ignored %s for %d s" % (sig, timeout))
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()
        self.dir.cleanup()
        return False


def wait_until(what, check, timeout=30, interval=0.05):
    """Polls check() until it returns a true value, at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(interval)
