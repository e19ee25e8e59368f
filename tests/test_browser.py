"""A real browser loads the Flask example through the CDN: assets apply, SRI is enforced.

Headless Chromium (Debian's ``chromium``; ``scripts/ensure-chromium.sh`` installs it when absent)
opens the example's page from the rolling-deploy simulation's stack (``examples/rolling_deploy``):
the page through the site's CDN distribution and load balancer, its stylesheets and scripts
from the assets' CDN distribution in front of a moto bucket, a different origin. Chromium is
driven over the DevTools protocol on ``--remote-debugging-pipe`` (JSON messages ending in NUL on
file descriptors 3 and 4), so no websocket client is needed, and the console's messages arrive
with their levels.

Skipped, saying why, only when nginx or Chromium is absent and cannot be installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from rolling_deploy.releases import make_releases  # noqa: E402
from rolling_deploy.runner import SCENARIO_B, Stack  # noqa: E402
from rolling_deploy.servers import S3Server, SimulationError  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)

# Runs before any of the page's own code: records every load and error event of elements.
PROBE = """
window.__hashstoreEvents = [];
for (const type of ["load", "error"]) {
  document.addEventListener(type, (event) => {
    const element = event.target;
    const url = element && (element.src || element.href);
    if (url) window.__hashstoreEvents.push({type, url});
  }, true);
}
"""

# Evaluated once the page has loaded: what loaded, failed and applied.
COLLECT = """
(() => {
  const happened = (type, url) =>
    window.__hashstoreEvents.some((e) => e.type === type && e.url === url);
  const sheets = [...document.querySelectorAll('link[rel="stylesheet"]')].map((link) => {
    let rules = null;
    try { rules = link.sheet ? link.sheet.cssRules.length : null; }
    catch (error) { rules = String(error); }
    // A sheet that failed CORS is still there, empty and unreadable: applied means rules.
    return {url: link.href, integrity: link.integrity, crossorigin: link.crossOrigin,
            loaded: happened("load", link.href), failed: happened("error", link.href),
            applied: typeof rules === "number" && rules > 0, rules};
  });
  const scripts = [...document.querySelectorAll("script[src]")].map((script) => (
    {url: script.src, integrity: script.integrity, crossorigin: script.crossOrigin,
     loaded: happened("load", script.src), failed: happened("error", script.src)}));
  return {
    sheets, scripts,
    cssRelease: getComputedStyle(document.documentElement)
      .getPropertyValue("--hashstore-release").trim().replaceAll('"', ""),
    jsRelease: window.hashstoreRelease || null,
    exampleScriptRan: document.documentElement.classList.contains("js"),
  };
})()
"""


def cors_configuration(site_origin: str) -> dict[str, Any]:
    """The bucket's CORS rule, as docs/rolling-deploys.md gives it: GET from the site's origin."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": [site_origin],
                "AllowedMethods": ["GET", "HEAD"],
                "AllowedHeaders": ["*"],
                "MaxAgeSeconds": 86400,
            }
        ]
    }


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe.

    :param binary: the chromium executable.
    :param profile: an empty directory for ``--user-data-dir``.
    :param log: where Chromium's own stderr goes.
    """

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium reads commands from fd 3 and writes replies and events to fd 4.
        script = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [
                    "bash",
                    "-c",
                    script,
                    "bash",
                    binary,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                ],
                pass_fds=(to_browser_r, from_browser_w),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.log = log
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(DevToolsError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise DevToolsError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise DevToolsError(f"Chromium exited; its log {self.log}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        result: dict[str, Any] = json.loads(message)
        return result

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 20,
    ) -> dict[str, Any]:
        """Send a command and wait for its reply; events meanwhile are kept for :meth:`wait`."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise DevToolsError(f"Chromium exited; its log {self.log}") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result
            self._events.append(reply)

    def wait(self, method: str, *, timeout: float = 20) -> dict[str, Any]:
        """Wait for the event ``method`` (one that came already counts)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self._events[seen:]:
                if event.get("method") == method:
                    return event
            seen = len(self._events)
            self._events.append(self._read(deadline))

    def events(self, *methods: str) -> list[dict[str, Any]]:
        return [e for e in self._events if e.get("method") in methods]

    def load(self, url: str) -> PageResult:
        """Open ``url`` in a new tab, wait for its load event and collect what happened."""
        self._events.clear()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE}, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait("Page.loadEventFired")
        result = self.send(
            "Runtime.evaluate", {"expression": COLLECT, "returnByValue": True}, session=session
        )["result"]["value"]
        self.send("Target.closeTarget", {"targetId": target})
        messages = []
        for event in self.events(
            "Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"
        ):
            params = event["params"]
            if event["method"] == "Runtime.consoleAPICalled":
                text = " ".join(
                    str(arg.get("value", arg.get("description", ""))) for arg in params["args"]
                )
                messages.append((params["type"], text))
            elif event["method"] == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description", details["text"])
                messages.append(("error", text))
            else:
                entry = params["entry"]
                messages.append((entry["level"], f"[{entry['source']}] {entry['text']}"))
        # The console's "Failed to load resource" does not say which; the network log does.
        for event in self.events("Network.responseReceived"):
            response = event["params"]["response"]
            if response["status"] >= 400:
                messages.append(("info", f"[network] {response['status']} {response['url']}"))
        return PageResult(result, messages)


class PageResult:
    """What the probe found on a page, and the console's messages as ``(level, text)``."""

    def __init__(self, probe: dict[str, Any], messages: list[tuple[str, str]]) -> None:
        self.probe = probe
        self.sheets: list[dict[str, Any]] = probe["sheets"]
        self.scripts: list[dict[str, Any]] = probe["scripts"]
        self.messages = messages

    @property
    def errors(self) -> list[str]:
        return [text for level, text in self.messages if level in ("error", "assert")]

    def describe(self) -> str:
        return json.dumps({"probe": self.probe, "console": self.messages}, indent=2)


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-chromium.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if result.returncode != 0 or binary is None:
        pytest.skip(
            "headless Chromium is not installed and scripts/ensure-chromium.sh could not "
            f"install it: {(result.stdout + result.stderr).strip()}"
        )
    return binary


@pytest.fixture(scope="module")
def _nginx() -> None:
    from rolling_deploy.servers import ensure_nginx

    try:
        ensure_nginx()
    except SimulationError as exc:
        pytest.skip(f"nginx is needed as the CDN and cannot be installed: {exc}")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's server in a process of its own that answers CORS as S3 does (see S3Server)."""
    with S3Server(logs=tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def stack(tmp_path: Path, s3: S3Server, _nginx: None) -> Iterator[Stack]:
    """Release v1 of the Flask example published to a fresh bucket; one app server; nginx."""
    releases = make_releases(tmp_path)
    stack = Stack(tmp_path / "stack", releases, SCENARIO_B, s3=s3, servers=1)
    try:
        stack.start("v1")
        yield stack
    finally:
        stack.close()


@pytest.fixture
def browser(chromium_binary: str, tmp_path: Path) -> Iterator[Chromium]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = Chromium(chromium_binary, profile, tmp_path / "chromium.log")
    try:
        yield chromium
    finally:
        chromium.close()


def _set_cors(stack: Stack) -> None:
    assert stack.s3 is not None
    stack.s3.client().put_bucket_cors(
        Bucket=stack.bucket, CORSConfiguration=cors_configuration(stack.site_url)
    )


def _object_key(stack: Stack, logical_name: str) -> str:
    manifest = json.loads(stack.manifest("v1").read_text())
    key: str = manifest["files"][logical_name]["key"]
    return key


def test_every_stylesheet_and_script_loads_and_applies(stack: Stack, browser: Chromium) -> None:
    _set_cors(stack)

    page = browser.load(stack.site_url + "/")

    assert page.sheets, page.describe()
    assert page.scripts, page.describe()
    for sheet in page.sheets:
        assert sheet["url"].startswith(stack.cdn_url), page.describe()
        assert sheet["integrity"].startswith("sha256-"), page.describe()
        assert sheet["crossorigin"] == "anonymous", page.describe()
        assert sheet["loaded"], page.describe()
        assert not sheet["failed"], page.describe()
        assert sheet["applied"], page.describe()
        # `applied` means readable rules: the response passed CORS and SRI.
        assert sheet["rules"] > 0, page.describe()
    for script in page.scripts:
        assert script["url"].startswith(stack.cdn_url), page.describe()
        assert script["integrity"].startswith("sha256-"), page.describe()
        assert script["crossorigin"] == "anonymous", page.describe()
        assert script["loaded"], page.describe()
        assert not script["failed"], page.describe()
    # Applied, not only fetched: the stylesheet's custom property and the script's global.
    assert page.probe["cssRelease"] == "v1", page.describe()
    assert page.probe["jsRelease"] == "v1", page.describe()
    assert page.probe["exampleScriptRan"], page.describe()
    assert page.errors == [], page.describe()


def test_a_tampered_object_is_refused_by_subresource_integrity(
    stack: Stack, browser: Chromium
) -> None:
    _set_cors(stack)
    assert stack.s3 is not None
    client = stack.s3.client()
    css_key = _object_key(stack, "css/app.css")
    js_key = _object_key(stack, "js/app.js")
    # Overwrite the published bytes behind hashstore's back (create-only protects only
    # publish): same key, same URL, different content.
    client.put_object(
        Bucket=stack.bucket,
        Key=f"assets/{css_key}",
        Body=b':root { --hashstore-release: "tampered"; }\n',
        ContentType="text/css",
    )
    client.put_object(
        Bucket=stack.bucket,
        Key=f"assets/{js_key}",
        Body=b'window.hashstoreRelease = "tampered";\n',
        ContentType="text/javascript",
    )

    page = browser.load(stack.site_url + "/")

    sheet = next(s for s in page.sheets if css_key in s["url"])
    script = next(s for s in page.scripts if js_key in s["url"])
    assert sheet["failed"], page.describe()
    assert not sheet["applied"], page.describe()
    assert script["failed"], page.describe()
    assert not script["loaded"], page.describe()
    assert page.probe["cssRelease"] == "", page.describe()
    assert page.probe["jsRelease"] is None, page.describe()
    refused = [e for e in page.errors if "integrity" in e]
    assert any(css_key.rsplit("/", 1)[1] in e for e in refused), page.describe()
    assert any(js_key.rsplit("/", 1)[1] in e for e in refused), page.describe()


def test_without_the_bucket_cors_rule_the_browser_refuses_the_assets(
    stack: Stack, browser: Chromium
) -> None:
    # No PutBucketCors: the documented rule is what makes `crossorigin` assets load.
    page = browser.load(stack.site_url + "/")

    assert all(s["failed"] for s in page.sheets + page.scripts), page.describe()
    assert not any(s["applied"] for s in page.sheets), page.describe()
    assert not any(s["loaded"] for s in page.scripts), page.describe()
    assert page.probe["cssRelease"] == "", page.describe()
    assert page.probe["jsRelease"] is None, page.describe()
    blocked = [e for e in page.errors if "blocked by CORS policy" in e]
    assert len(blocked) >= len(page.sheets) + len(page.scripts), page.describe()
