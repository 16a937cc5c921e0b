"""Open a local HTML file in headless Chromium with the network off, and report
what happened: console errors, requests, the page's answer to a script, and a
screenshot. Driven over the Chrome DevTools Protocol (a websocket), so that
console errors and network requests can be seen, which plain command-line
flags cannot show.

    python scripts/headless.py REPORT.html --screenshot OUT.png [--height 1400]

Used by the browser test of the report and to make the README's screenshot.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
WIDTH = 1280


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageLoad:
    """What the browser saw while loading a page."""

    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium, one tab, offline; close() ends the process."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="llmsync-chromium-")
        profile = Path(self._profile.name)
        self._process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self._ws = self._connect(profile / "DevToolsActivePort")
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _connect(self, port_file: Path) -> ClientConnection:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self._process.returncode}")
            lines = port_file.read_text().splitlines() if port_file.is_file() else []
            if len(lines) >= 2:
                return connect(f"ws://127.0.0.1:{lines[0]}{lines[1]}", max_size=None)
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its debugging port within 60 s")

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self._events.append(reply)

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        return self._send(method, params, None)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A command to the tab."""
        return self._send(method, params, self._session)

    def _wait_for(self, method: str, *, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any(e["method"] == method for e in self._events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no {method} within {seconds} s")
            self._events.append(json.loads(self._ws.recv(timeout=left)))

    def open(self, path: Path) -> PageLoad:
        """Load a file and collect its console errors and every request it made."""
        url = path.resolve().as_uri()
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired", seconds=60)
        self.evaluate("1")  # drains the events sent before the page settled
        load = PageLoad(url)
        for event in self._events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                load.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                load.errors.append(str(params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                load.errors.append(json.dumps(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                load.errors.append(str(params["entry"].get("text")))
        return load

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, out: Path, *, height: int | None = None) -> None:
        """A PNG 1280 px wide: the whole page, or its top `height` pixels."""
        full = int(self.evaluate("document.documentElement.scrollHeight"))
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(height or full, full), "scale": 1}
        shot = self.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._profile.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--screenshot", type=Path, required=True)
    parser.add_argument("--height", type=int, help="only the top N pixels (default: all)")
    args = parser.parse_args(argv)
    executable = find_chromium()
    if executable is None:
        print("no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    browser = Browser(executable)
    try:
        load = browser.open(args.page)
        browser.screenshot(args.screenshot, height=args.height)
    finally:
        browser.close()
    print(f"{args.screenshot}: console errors {len(load.errors)}, requests {load.requests}")
    return 1 if load.errors else 0


if __name__ == "__main__":
    sys.exit(main())
