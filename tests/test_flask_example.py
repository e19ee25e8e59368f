"""examples/flask_app published to S3 (moto's server over HTTP) with ``flask hashstore publish``,
then rendered with the test client: every asset URL on its pages is in the bucket, byte for byte.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import posixpath
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result
from flask import Flask
from flask.cli import FlaskGroup

from hashstore.manifest import Manifest, integrity_of

from .test_flask import script_info

if TYPE_CHECKING:
    from .conftest import S3Bucket
    from .s3proxy import S3Proxy

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_app"
MODULE = "hashstore_example_flask_app"  # a name of its own: nothing else in sys.modules clashes
# Logical names: the app's static files as they are, the admin blueprint's under admin/static/
# (not Vite's .vite/manifest.json: hidden folders are not published).
SOURCES = sorted(
    [
        p.relative_to(EXAMPLE / "static").as_posix()
        for p in (EXAMPLE / "static").rglob("*.*")
        if ".vite" not in p.parts
    ]
    + [p.relative_to(EXAMPLE).as_posix() for p in (EXAMPLE / "admin/static").rglob("*.*")]
)
# The Vite front end's output (examples/frontend), published under the names Vite gave it.
BUNDLED = {name for name in SOURCES if name.startswith("dist/")}
# href="..." and src="..." in the pages; url(...) and @import "..." in the stylesheets.
HTML_URL = re.compile(r'\b(?:href|src)="([^"]+)"')
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


def load_example() -> ModuleType:
    if MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            MODULE, EXAMPLE / "__init__.py", submodule_search_locations=[str(EXAMPLE)]
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[MODULE]


@pytest.fixture(autouse=True)
def _restore_flask_cli_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)  # FlaskGroup sets it


def flask_cli(app: Flask, *args: str) -> Result:
    info = script_info(lambda: app)
    return app.test_cli_runner().invoke(FlaskGroup(load_dotenv=False), list(args), obj=info)


def example_app(bucket: S3Bucket, tmp_path: Path, **config: Any) -> Flask:
    """The example app configured as a deployment would be: three keys."""
    base_url = f"{bucket.endpoint_url}/{bucket.name}/{bucket.prefix}"
    app: Flask = load_example().create_app(
        {
            "HASHSTORE_TARGET": bucket.target,
            "HASHSTORE_BASE_URL": base_url,
            "HASHSTORE_ENDPOINT_URL": bucket.endpoint_url,
            "HASHSTORE_MANIFEST": str(tmp_path / "hashstore.json"),
            **config,
        }
    )
    return app


def test_published_pages_reference_only_stored_bytes(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    app = example_app(s3_bucket, tmp_path)
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 0, result.output
    assert f"uploaded {len(SOURCES)} new file(s)" in result.stdout
    manifest = Manifest.load(tmp_path / "hashstore.json")
    assert sorted(manifest) == SOURCES  # the blueprint's files under admin/static/
    base_url = manifest.base_url

    client = app.test_client()
    pages = [client.get(path) for path in ("/", "/admin/")]
    assert [page.status_code for page in pages] == [200, 200]
    branding = client.get("/api/branding").get_json()
    found = set(branding.values())
    integrities: dict[str, str] = {}  # URL -> the integrity attribute of its tag
    for page in pages:
        found.update(HTML_URL.findall(page.text))
        for tag in re.findall(r"<(?:link|script)\b[^>]*>", page.text):
            integrity = re.search(r'integrity="([^"]*)"', tag)
            if integrity is not None:
                integrities[HTML_URL.findall(tag)[0]] = integrity.group(1)
    assets = {url for url in found if url.startswith(base_url)}
    # Every asset on the pages is a CDN URL: only the links between pages are Flask's.
    assert found - assets == {"/", "/admin/"}
    assert len(assets) == 10  # with the Vite entry's stylesheet and module script
    assert len(integrities) == 7

    by_key = {entry.key: name for name, entry in manifest.items()}
    checked: set[str] = set()
    todo = list(assets)
    while todo:
        url = todo.pop()
        key = url.removeprefix(base_url)
        if key in checked:
            continue
        checked.add(key)
        body = s3_bucket.get(key)
        entry = manifest[by_key[key]]
        assert hashlib.sha256(body).hexdigest() == entry.sha256, key
        if by_key[key] in BUNDLED:
            assert key == by_key[key]  # kept: Vite's chunks name each other
        else:
            assert entry.sha256.startswith(posixpath.basename(key).split(".")[-2])
        if url in integrities:
            assert integrities[url] == integrity_of(entry.sha256)
        if key.endswith(".css"):  # follow the stylesheet's references, which are hashed too
            for ref in (a or b for a, b in CSS_URL.findall(body.decode())):
                todo.append(
                    base_url + posixpath.normpath(posixpath.join(posixpath.dirname(key), ref))
                )
    # Fonts, images and imported stylesheets are reached from the pages' CSS.
    assert {by_key[key] for key in checked} == set(SOURCES) - {"js/app.js.map"}


def test_request_counts_cold_and_warm(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    app = example_app(s3_bucket, tmp_path, HASHSTORE_ENDPOINT_URL=s3_proxy.url)
    n = len(SOURCES)
    result = flask_cli(app, "hashstore", "publish", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["uploaded"]) == n
    assert s3_proxy.total <= n + math.ceil(n / 1000) + 3, s3_proxy.operations

    s3_proxy.reset()
    result = flask_cli(app, "hashstore", "publish", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["uploaded"], report["already_present"]) == ([], n)
    k = len(s3_bucket.keys())  # the objects, the release record and the pending marker
    assert s3_proxy.total <= math.ceil(k / 1000) + 2, s3_proxy.operations
    assert s3_proxy.operations["PutObject"] == 2  # the pending marker and the release record


def test_the_factory_makes_independent_apps(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    published = example_app(s3_bucket, tmp_path / "one")
    assert flask_cli(published, "hashstore", "publish").exit_code == 0
    # A second app from the same factory and extension, in the same process, not published.
    unpublished = example_app(s3_bucket, tmp_path / "two")
    unpublished.debug = True
    assert published.extensions["hashstore"] is not unpublished.extensions["hashstore"]
    first = published.test_client().get("/api/branding").get_json()
    second = unpublished.test_client().get("/api/branding").get_json()
    assert first["logo"].startswith(s3_bucket.endpoint_url)
    assert second == {"logo": "/static/img/logo.svg", "stylesheet": "/static/css/app.css"}
