"""Opens the status page in headless Chromium and clicks LOAD.

Usage: /usr/bin/python3 browser_check.py STATUS_SERVER SCREENSHOT.png

Starts status_server (--no-background, with a control token) on a free
127.0.0.1 port and Chromium with a fresh profile, drives the page through the
Chrome DevTools Protocol (python3-websocket), which adds the token's
Authorization header to every request, clicks LOAD on 'tokenizer' with real
mouse events and waits for its row to turn `loaded`, clicks LOAD on
'plugin/ocr' and waits for `failed` with its error shown, then saves a
screenshot.
Prints SKIP and exits 0 where Chromium is not installed (set
LAZYLOAD_CHROMIUM to use another path). Chromium may reach
127.0.0.1 only (every other host name resolves to nothing), every wait is
bounded, and both processes are killed at the end.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from serverctl import Server, request, wait_until

TOKEN = "browser-token"


def find_chromium():
    """Chromium's path, or None. LAZYLOAD_CHROMIUM overrides the search."""
    path = os.environ.get("LAZYLOAD_CHROMIUM") or shutil.which("chromium") \
        or "/usr/bin/chromium"
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


CHROMIUM = find_chromium()


class DevTools:
    """A minimal CDP client over one page's WebSocket."""

    def __init__(self, ws_url):
        import websocket  # Debian's python3-websocket
        self.ws = websocket.create_connection(ws_url, timeout=30,
                                              suppress_origin=True)
        self.next_id = 0

    def call(self, method, timeout=30, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method,
                                 "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:  # skip events
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message["result"]
        raise RuntimeError("no answer to %s within %d s" % (method, timeout))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("page error: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    def close(self):
        self.ws.close()


def row_js(name, what):
    """JavaScript for `what` about the row of entry `name`, or null."""
    return ("(() => { const tr = [...document.querySelectorAll('#rows tr')]"
            ".find(t => t.dataset.name === %s); if (!tr) return null; %s })()"
            % (json.dumps(name), what))


def status_of(page, name):
    return page.evaluate(row_js(name, "return tr.querySelector('td.status').textContent;"))


def click_button(page, name):
    """Clicks the row's button with real mouse events at its centre."""
    box = page.evaluate(row_js(name, """
        const b = tr.querySelector('button');
        b.scrollIntoView({block: 'center'});
        const r = b.getBoundingClientRect();
        return {x: r.x + r.width / 2, y: r.y + r.height / 2,
                text: b.textContent, disabled: b.disabled};"""))
    if box is None:
        raise AssertionError("no row for %r" % name)
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                  button="left", buttons=1 if kind == "mousePressed" else 0,
                  clickCount=1)
    return box


def start_chromium(url, profile):
    args = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--mute-audio",
        "--no-default-browser-check", "--disable-dev-shm-usage",
        "--no-proxy-server", "--hide-scrollbars", "--window-size=1280,720",
        # Nothing but 127.0.0.1 resolves: no traffic can leave the machine.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--user-data-dir=" + profile,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",  # Chromium picks a free port
        url,
    ]
    log = open(os.path.join(profile, "..", "chromium.log"), "wb")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def devtools_port(profile, chromium):
    """Reads the port Chromium chose from DevToolsActivePort."""
    path = os.path.join(profile, "DevToolsActivePort")

    def ready():
        if chromium.poll() is not None:
            raise RuntimeError("chromium exited with %d" % chromium.returncode)
        try:
            with open(path) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None
    return wait_until("Chromium's DevTools port", ready, timeout=60)


def kill_group(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass


def main():
    if CHROMIUM is None:
        print("SKIP: chromium is not installed")
        return
    program, screenshot = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="lazyload-browser-")
    profile = os.path.join(work, "profile")
    os.mkdir(profile)
    chromium = page = None
    try:
        with Server(program, "--no-background", "--time-scale", "0.5",
                    "--control-token", TOKEN) as server:
            chromium = start_chromium(server.url, profile)
            port = devtools_port(profile, chromium)
            def page_target():
                targets = json.loads(
                    request("http://127.0.0.1:%d/json/list" % port).text())
                return next((t for t in targets if t.get("type") == "page"), None)
            target = wait_until("the page target", page_target, timeout=30)
            page = DevTools(target["webSocketDebuggerUrl"])
            page.call("Runtime.enable")
            # The buttons come with control, which the server gives to
            # requests with the token: send it, and load the page again.
            page.call("Network.enable")
            page.call("Network.setExtraHTTPHeaders",
                      headers={"Authorization": "Bearer " + TOKEN})
            page.call("Page.reload")
            wait_until("the page with control", lambda: page.evaluate(
                "typeof control !== 'undefined' && control === true"))

            # The page renders the table from /api/status.
            wait_until("the tokenizer row", lambda: status_of(page, "tokenizer") == "unloaded")
            check_text = page.evaluate("document.title")
            assert check_text == "lazyload status", check_text

            box = click_button(page, "tokenizer")
            assert box["text"] == "LOAD" and not box["disabled"], box
            wait_until("tokenizer to turn loaded",
                       lambda: status_of(page, "tokenizer") == "loaded", timeout=30)
            button = page.evaluate(row_js("tokenizer", "return tr.querySelector('button').textContent;"))
            assert button == "UNLOAD", button
            status = json.loads(request(server.url + "api/status").text())
            assert status["entries"]["tokenizer"]["status"] == "loaded", status
            assert status["entries"]["tokenizer"]["loads"] == 1, status

            # A name with a slash goes through encodeURIComponent; it fails.
            click_button(page, "plugin/ocr")
            wait_until("plugin/ocr to turn failed",
                       lambda: status_of(page, "plugin/ocr") == "failed", timeout=30)
            error = page.evaluate(row_js("plugin/ocr", "return tr.querySelector('td.error').textContent;"))
            assert "libtesseract.so.5" in error, error
            assert error.startswith("lazyload: loading 'plugin/ocr' failed"), error
            summary = page.evaluate("document.getElementById('summary').textContent")
            assert summary.startswith("1 of 6 loaded (16.67%)"), summary

            shot = page.call("Page.captureScreenshot", format="png")
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            print("ok: LOAD turned 'tokenizer' loaded in Chromium; screenshot: " + screenshot)
    except BaseException:
        log = os.path.join(work, "chromium.log")
        if os.path.exists(log):
            with open(log, "rb") as f:
                print("chromium's output:\n" + f.read()[-4000:].decode("utf-8", "replace"))
        raise
    finally:
        if page is not None:
            page.close()
        if chromium is not None:
            kill_group(chromium)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
