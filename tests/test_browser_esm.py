"""Native ES modules with lit-html, published to S3, run in headless Chromium from the bucket.

The tree is lit-html as npm ships it (its modules import each other with relative specifiers:
``directives/repeat.js`` imports ``../lit-html.js``), and a small app of its own: an entry module
with static imports, ``export … from``, a dynamic ``import()`` and an image through
``new URL(…, import.meta.url)``. hashstore publishes it to moto; the page, put in the same bucket
by the test as a server would render it, loads the entry by its hashed URL with an import map
whose ``integrity`` section lists every module of the manifest, so Chromium checks the
Subresource Integrity of each module it fetches, not only of the entry. Every request is
recorded over the DevTools protocol: none may fail or 404, and each must be for a key the
manifest names.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashstore import publish
from hashstore.manifest import Manifest

from .conftest import S3Bucket
from .helpers import load_bench_script, make_tree
from .test_browser import Chromium, chromium_binary  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.moto_only]

thirdparty = load_bench_script("thirdparty")

APP = {
    "app/main.mjs": """\
import { html, render } from "../vendor/lit-html/lit-html.js";
import { repeat } from "../vendor/lit-html/directives/repeat.js";
import { classMap } from '../vendor/lit-html/directives/class-map.js';
import { label } from "./shared.js";
export { label } from "./shared.js";

// import "./never-published.js": a comment, not an import
const logo = new URL("../img/logo.svg", import.meta.url);
const items = ["one", "two", "three"].map((item) => `${item}`.replace(/\\/|"/g, ""));
render(
  html`<h1 class=${classMap({ ready: true })}>${label}</h1>
    <ul>${repeat(items, (item) => item, (item) => html`<li>${item}</li>`)}</ul>
    <img id="logo" src=${logo.href} alt="">`,
  document.getElementById("app"),
);

window.esmResult = (async () => {
  const page = await import("./page.mjs");
  const image = document.getElementById("logo");
  await image.decode();
  return {
    items: document.querySelectorAll("li").length,
    heading: document.querySelector("h1.ready").textContent,
    page: await page.describe(),
    logoWidth: image.naturalWidth,
  };
})();
""",
    "app/page.mjs": """\
import { label } from "./shared.js";
import { until } from "../vendor/lit-html/directives/until.js";

export async function describe() {
  return `${typeof until} page of ${label}`;
}
""",
    "app/shared.js": 'export const label = "hashstore";\n',
    "img/logo.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="12">'
        '<rect width="24" height="12" fill="teal"/></svg>'
    ),
}


def _lit_html() -> Path:
    package = thirdparty.esm_package("lit-html")
    path = Path(thirdparty.package_path(package))
    if not path.is_dir() and thirdparty.npm_command() is None:
        pytest.skip(f"npm is not installed, so {package.spec} cannot be fetched into {path}")
    try:
        return Path(thirdparty.fetch(package))
    except thirdparty.FetchError as exc:
        pytest.fail(f"{exc} (run `.venv/bin/python bench/thirdparty.py` to retry)")


@pytest.fixture
def browser(chromium_binary: str, tmp_path: Path) -> Iterator[Chromium]:  # noqa: F811
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = Chromium(chromium_binary, profile, tmp_path / "chromium.log")
    try:
        yield chromium
    finally:
        chromium.close()


def _publish(tmp_path: Path, s3_bucket: S3Bucket) -> tuple[Manifest, str, str]:
    """Publish the tree and put the page next to it; (manifest, base URL, page URL)."""
    source = make_tree(tmp_path / "site", APP)
    shutil.copytree(_lit_html(), source / "vendor" / "lit-html")
    base_url = f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{s3_bucket.prefix}"
    manifest_path = tmp_path / "hashstore.json"
    report = publish(
        s3_bucket.settings(
            sources=(source,), base_url=base_url, manifest=manifest_path, strict=True
        )
    )
    assert not report.build.missing
    manifest = Manifest.load(manifest_path)
    integrity = {
        manifest.url(name): manifest.integrity(name)
        for name in manifest
        if name.endswith((".js", ".mjs"))
    }
    import_map = json.dumps({"integrity": integrity}, indent=1).replace("</", "<\\/")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{import_map}</script>
<script type="module" src="{html.escape(manifest.url("app/main.mjs"))}"
  integrity="{manifest.integrity("app/main.mjs")}" crossorigin="anonymous"></script>
</head><body><main id="app"></main></body></html>
"""
    # The browser reads anonymously, as a CDN with Origin Access Control would for it.
    s3_bucket.client.put_bucket_policy(
        Bucket=s3_bucket.name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{s3_bucket.name}/{s3_bucket.prefix}*",
                    }
                ],
            }
        ),
    )
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name,
        Key=s3_bucket.prefix + "index.html",
        Body=page.encode(),
        ContentType="text/html; charset=utf-8",
    )
    return manifest, base_url, base_url + "index.html"


def _run(
    browser: Chromium, url: str, expression: str = "window.esmResult"
) -> tuple[Any, dict[str, dict[str, Any]], list[str]]:
    """Open ``url``; (``expression``'s value, awaited, request id -> request, console errors).

    Also used by ``test_browser_bundles.py``.
    """
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=session)
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait("Page.loadEventFired", timeout=60)
    evaluated = browser.send(
        "Runtime.evaluate",
        {"expression": expression, "awaitPromise": True, "returnByValue": True},
        session=session,
        timeout=60,
    )
    result = evaluated["result"].get("value")
    browser.send("Target.closeTarget", {"targetId": target})
    requests: dict[str, dict[str, Any]] = {}
    for event in browser.events(
        "Network.requestWillBeSent", "Network.responseReceived", "Network.loadingFailed"
    ):
        params = event["params"]
        request = requests.setdefault(params["requestId"], {})
        if event["method"] == "Network.requestWillBeSent":
            request["url"] = params["request"]["url"]
        elif event["method"] == "Network.responseReceived":
            request["status"] = params["response"]["status"]
        else:
            request["failed"] = params["errorText"]
    errors = [
        event["params"]["entry"]["text"]
        for event in browser.events("Log.entryAdded")
        if event["params"]["entry"]["level"] == "error"
    ]
    errors += [
        event["params"]["exceptionDetails"].get("exception", {}).get("description", "")
        for event in browser.events("Runtime.exceptionThrown")
    ]
    return result, requests, errors


def test_lit_html_modules_run_from_the_bucket_with_every_request_a_manifest_key(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    manifest, _, page_url = _publish(tmp_path, s3_bucket)

    result, requests, errors = _run(browser, page_url)

    described = json.dumps({"result": result, "requests": requests, "errors": errors}, indent=1)
    assert result == {
        "items": 3,
        "heading": "hashstore",
        "page": "function page of hashstore",
        "logoWidth": 24,
    }, described
    assert errors == [], described
    keys = {manifest.url(name): manifest[name] for name in manifest}
    fetched = [
        r for r in requests.values() if r["url"] != page_url and not r["url"].startswith("data:")
    ]
    assert len(fetched) >= 10, described  # lit-html's modules, the app's and the image
    for request in fetched:
        assert request.get("status") == 200, described
        assert "failed" not in request, described
        entry = keys.get(request["url"])
        assert entry is not None, f"{request['url']} is no key of the manifest\n{described}"
        stored = s3_bucket.get(entry.key)
        assert hashlib.sha256(stored).hexdigest() == entry.sha256
    names = {keys[r["url"]].key for r in fetched}
    assert manifest["app/page.mjs"].key in names  # the dynamic import
    assert manifest["img/logo.svg"].key in names  # new URL(…, import.meta.url)
    assert manifest["vendor/lit-html/directive.js"].key in names  # imported by a directive


def test_a_tampered_imported_module_is_refused_by_the_import_map_integrity(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    manifest, _, page_url = _publish(tmp_path, s3_bucket)
    key = manifest["vendor/lit-html/directives/repeat.js"].key
    original = s3_bucket.get(key)
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name,
        Key=s3_bucket.prefix + key,
        Body=original.replace(b"repeat", b"REPEAT", 1),
        ContentType="text/javascript",
    )

    result, _, errors = _run(browser, page_url)

    assert result is None
    assert any("integrity" in error and key.rsplit("/", 1)[1] in error for error in errors), errors
