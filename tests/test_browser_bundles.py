"""Vite 8 and webpack 5 bundles, published to S3, run in headless Chromium from the bucket.

The projects in ``tests/fixtures/frontend/`` (pinned with their lock files) are built by
:mod:`tests.frontend_fixtures` into ``build/frontend/`` (once per change of their inputs):
code-split with two dynamic imports sharing a chunk, a second entry sharing a chunk with the
first, CSS with an image and a font, an asset through ``new URL(…, import.meta.url)``, source
maps on. hashstore publishes each output to moto under a prefix; the page, put in the bucket as
a server would render it, loads the entry through :func:`hashstore.tags.render_entry_tags`
(every tag with ``integrity``). Every request is recorded over the DevTools protocol: none may
fail or 404, each must be for a key the manifest names, and the dynamic chunks must load.
esbuild's code-split output (``tests/fixtures/bundlers/esbuild``, no manifest) runs the same
way through the tags of ``asset_tag``, its imports rewritten to hashstore's names.

Skipped, saying why, when npm or Chromium is absent (``make test`` builds the projects first).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashstore import publish
from hashstore.bundlers import entry_modules
from hashstore.manifest import Manifest
from hashstore.tags import render_asset_tag, render_entry_tags, render_import_map

from . import frontend_fixtures
from .conftest import S3Bucket
from .test_browser import Chromium, chromium_binary  # noqa: F401 (a fixture)
from .test_browser_esm import _run

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.moto_only]

# What the fixture's main.js resolves window.hashstoreFixture to, once its dynamic chunks ran.
EXPECTED = {
    "settings": {"greeting": "hello from config.json"},
    "chart": "chart of 2 rows",
    "table": "table of alpha, beta",
}
COLLECT = """
(async () => {
  const result = await window.hashstoreFixture;
  const status = document.getElementById("status");
  return {...result, color: getComputedStyle(status).color, text: status.textContent};
})()
"""


def _built(name: str) -> Path:
    if not frontend_fixtures.output_path(name).is_dir() and frontend_fixtures.npm_command() is None:
        pytest.skip(f"npm is not installed, so tests/fixtures/frontend/{name} cannot be built")
    try:
        return frontend_fixtures.built(name)
    except frontend_fixtures.FixtureBuildError as exc:
        pytest.fail(f"{exc} (run `.venv/bin/python -m tests.frontend_fixtures` to retry)")


@pytest.fixture
def browser(chromium_binary: str, tmp_path: Path) -> Iterator[Chromium]:  # noqa: F811
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = Chromium(chromium_binary, profile, tmp_path / "chromium.log")
    try:
        yield chromium
    finally:
        chromium.close()


def _allow_anonymous_reads(s3_bucket: S3Bucket) -> None:
    # The browser reads anonymously, as a CDN with Origin Access Control would for it.
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{s3_bucket.name}/{s3_bucket.prefix}*",
    }
    s3_bucket.client.put_bucket_policy(
        Bucket=s3_bucket.name,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def _publish_page(
    tmp_path: Path, s3_bucket: S3Bucket, output: Path, entry: str
) -> tuple[Manifest, str]:
    """Publish ``output`` under ``bundle/`` and a page loading ``entry``; (manifest, page URL)."""
    base_url = f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{s3_bucket.prefix}"
    manifest_path = tmp_path / "hashstore.json"
    report = publish(
        s3_bucket.settings(
            sources=(("bundle", output),), base_url=base_url, manifest=manifest_path, strict=True
        )
    )
    assert not report.build.missing
    assert report.build.warnings == ()
    manifest = Manifest.load(manifest_path)

    def resolve(name: str) -> tuple[str, str]:
        return manifest.url(name), manifest.integrity(name)

    # The import map gives the import() chunks, which no tag names, their integrity.
    import_map = render_import_map({}, resolve, entry_modules(manifest.entries))
    tags = render_entry_tags(manifest.entry_point(entry), resolve)
    return manifest, _put_page(s3_bucket, base_url, f"{import_map}\n{tags}")


def _put_page(s3_bucket: S3Bucket, base_url: str, head: str) -> str:
    """Store ``index.html`` with ``head`` beside the published files, for anyone; its URL."""
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
{head}
</head><body></body></html>
"""
    _allow_anonymous_reads(s3_bucket)
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name,
        Key=s3_bucket.prefix + "index.html",
        Body=page.encode(),
        ContentType="text/html; charset=utf-8",
    )
    return base_url + "index.html"


def _check_requests(
    manifest: Manifest,
    s3_bucket: S3Bucket,
    page_url: str,
    requests: dict[str, dict[str, object]],
    described: str,
) -> set[str]:
    """Every request succeeded and is for a key the manifest names; the keys fetched."""
    keys = {manifest.url(name): manifest[name] for name in manifest}
    fetched = [
        r
        for r in requests.values()
        if r["url"] != page_url and not str(r["url"]).startswith("data:")
    ]
    for request in fetched:
        assert request.get("status") == 200, described
        assert "failed" not in request, described
        entry = keys.get(str(request["url"]))
        assert entry is not None, f"{request['url']} is no key of the manifest\n{described}"
        stored = s3_bucket.get(entry.key)
        assert hashlib.sha256(stored).hexdigest() == entry.sha256
    return {keys[str(r["url"])].key for r in fetched}


def test_vite_bundle_runs_from_the_bucket_with_every_request_a_manifest_key(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    output = _built("vite")
    manifest, page_url = _publish_page(tmp_path, s3_bucket, output, "src/main.js")

    result, requests, errors = _run(browser, page_url, COLLECT)

    described = json.dumps({"result": result, "requests": requests, "errors": errors}, indent=1)
    assert result == {**EXPECTED, "color": "rgb(0, 128, 0)", "text": "[fixture] main loaded"}
    assert errors == [], described
    fetched = _check_requests(manifest, s3_bucket, page_url, requests, described)
    vite = json.loads((output / ".vite" / "manifest.json").read_text())
    expected = {
        "bundle/" + vite[name]["file"]
        for name in (
            "src/main.js",
            "_format-CC8VPYeM.js",  # the shared chunk, preloaded
            "src/pages/chart.js",  # the dynamic imports
            "src/pages/table.js",
            "_data-CaAsa1Lk.js",  # the chunk they share
            "src/data/config.json",  # new URL(…, import.meta.url)
            "src/img/logo.png",  # from the CSS
            "src/fonts/fixture.woff2",
        )
    } | {"bundle/" + vite["src/main.js"]["css"][0]}
    assert expected <= fetched, described
    # Published whole: Vite's names are the keys.
    assert all(manifest[key].key == key for key in expected)


def test_webpack_bundle_runs_from_the_bucket_with_every_request_a_manifest_key(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    output = _built("webpack")
    manifest, page_url = _publish_page(tmp_path, s3_bucket, output, "main")

    result, requests, errors = _run(browser, page_url, COLLECT)

    described = json.dumps({"result": result, "requests": requests, "errors": errors}, indent=1)
    assert result == {**EXPECTED, "color": "rgb(0, 128, 0)", "text": "[fixture] main loaded"}
    assert errors == [], described
    fetched = _check_requests(manifest, s3_bucket, page_url, requests, described)
    listed = json.loads((output / "manifest.json").read_text())
    js_chunks = {
        "bundle/" + file
        for name, file in listed.items()
        if name.endswith(".js") and name not in ("admin.js",)
    }
    # The entry's scripts, the two dynamic chunks and the one they share: all of main's chunks.
    assert js_chunks <= fetched, described
    assets = {"bundle/" + listed[n] for n in ("assets/logo.png", "assets/fixture.woff2")}
    assert assets | {"bundle/" + listed["assets/config.json"], "bundle/" + listed["main.css"]} <= (
        fetched
    ), described


def test_a_tampered_preloaded_chunk_stops_the_vite_entry(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    output = _built("vite")
    manifest, page_url = _publish_page(tmp_path, s3_bucket, output, "src/main.js")
    shared = manifest.entry_point("src/main.js").imports[0]
    key = manifest[shared].key
    original = s3_bucket.get(key)
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name,
        Key=s3_bucket.prefix + key,
        Body=original.replace(b"[fixture]", b"[tampered]"),
        ContentType="text/javascript",
    )

    result, _, errors = _run(
        browser, page_url, "new Promise((r) => setTimeout(() => r(!!window.hashstoreFixture), 500))"
    )

    # The modulepreload's integrity refused the bytes, so the entry never ran.
    assert result is False
    assert any("integrity" in error for error in errors), errors


def test_a_tampered_dynamic_chunk_is_refused_by_the_import_map_integrity(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    output = _built("vite")
    manifest, page_url = _publish_page(tmp_path, s3_bucket, output, "src/main.js")
    lazy = manifest.entry_point("src/main.js").lazy
    chart = next(name for name in lazy if "/chart-" in name)
    key = manifest[chart].key
    original = s3_bucket.get(key)
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name,
        Key=s3_bucket.prefix + key,
        Body=original.replace(b"chart of", b"CHART OF"),
        ContentType="text/javascript",
    )

    result, _, errors = _run(
        browser,
        page_url,
        "window.hashstoreFixture.then(() => 'loaded', (error) => 'refused: ' + error.message)",
    )

    # The static graph ran (its tags carry integrity); the import() of the chart was refused.
    assert str(result).startswith("refused"), (result, errors)
    assert any("integrity" in error and key.rsplit("/", 1)[1] in error for error in errors), errors


ESBUILD = Path(__file__).parent / "fixtures" / "bundlers" / "esbuild"


def test_esbuild_output_runs_from_the_bucket_through_rewritten_imports(
    tmp_path: Path, s3_bucket: S3Bucket, browser: Chromium
) -> None:
    """esbuild's code-split ES modules (no manifest: hashstore names and rewrites every file),
    loaded through ``asset_tag``'s tags as docs/frontend.md#esbuild says."""
    source = tmp_path / "static"
    shutil.copytree(ESBUILD, source / "dist")
    base_url = f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{s3_bucket.prefix}"
    manifest_path = tmp_path / "hashstore.json"
    report = publish(
        s3_bucket.settings(
            sources=(source,), base_url=base_url, manifest=manifest_path, strict=True
        )
    )
    assert not report.build.missing
    assert report.build.kept == {}
    manifest = Manifest.load(manifest_path)
    tags = "\n".join(
        render_asset_tag(name, manifest.url(name), manifest.integrity(name), attrs)
        for name, attrs in (("dist/main.css", {}), ("dist/main.js", {"type": "module"}))
    )
    page_url = _put_page(s3_bucket, base_url, tags)

    result, requests, errors = _run(
        browser,
        page_url,
        "window.esb.then((pages) => [pages, document.body.dataset.main,"
        " getComputedStyle(document.body).backgroundImage])",
    )

    described = json.dumps({"result": result, "requests": requests, "errors": errors}, indent=1)
    assert errors == [], described
    assert result[:2] == ["[chart 2]|[table a,b]", "[main]"], described
    logo = manifest.url("dist/assets/logo-KBMOCERS.png")
    assert result[2] == f'url("{logo}")', described
    fetched = _check_requests(manifest, s3_bucket, page_url, requests, described)
    # The entry, both shared chunks, the two import() chunks, the stylesheet and its image.
    expected = {n for n in manifest if n.endswith((".js", ".css", ".png"))}
    assert {manifest[n].key for n in expected} <= fetched, described
