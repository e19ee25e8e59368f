"""Bundler manifests: Vite's and webpack's lists of the files they named by content."""

from __future__ import annotations

import json
from pathlib import Path

from hashstore.bundlers import find_bundler_manifests


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_vite_manifest_lists_chunks_css_and_assets(tmp_path: Path) -> None:
    vite = {
        "src/main.js": {
            "file": "assets/main-BfD3a9xq.js",
            "isEntry": True,
            "css": ["assets/main-C6x4mpVo.css"],
            "assets": ["assets/logo-Dk3_x9aZ.png"],
            "imports": ["_vendor-AbCdEf12.js"],
        },
        "_vendor-AbCdEf12.js": {"file": "assets/vendor-AbCdEf12.js"},
        "src/gone.js": {"file": "assets/gone-zzzzzzzz.js"},
    }
    _write(
        tmp_path,
        {
            "dist/.vite/manifest.json": json.dumps(vite),
            "dist/assets/main-BfD3a9xq.js": "x",
            "dist/assets/main-C6x4mpVo.css": "x",
            "dist/assets/logo-Dk3_x9aZ.png": "x",
            "dist/assets/vendor-AbCdEf12.js": "x",
            "dist/favicon.ico": "x",
        },
    )
    (found,) = find_bundler_manifests(tmp_path)
    assert found.kind == "vite"
    assert found.path == tmp_path / "dist/.vite/manifest.json"
    # Listed files that exist, relative to the source root; the missing one is left out.
    assert found.outputs == {
        "dist/assets/main-BfD3a9xq.js",
        "dist/assets/main-C6x4mpVo.css",
        "dist/assets/logo-Dk3_x9aZ.png",
        "dist/assets/vendor-AbCdEf12.js",
    }


def test_webpack_manifests_strip_the_public_path(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "bundles/manifest.json": json.dumps(
                {
                    "main.js": "/static/bundles/js/main.3f2a9c1b.js",
                    "main.css": "auto/main.77aa00bb.css",
                    "logo.png": "https://cdn.example.com/x/bundles/img/logo.1234abcd.png",
                }
            ),
            "bundles/js/main.3f2a9c1b.js": "x",
            "bundles/main.77aa00bb.css": "x",
            "bundles/img/logo.1234abcd.png": "x",
            "other/assets-manifest.json": json.dumps(
                {
                    "app.js": {"src": "app.0a1b2c3d.js", "integrity": "sha256-x"},
                    "entrypoints": {"app": {"assets": {"js": ["app.0a1b2c3d.js"]}}},
                }
            ),
            "other/app.0a1b2c3d.js": "x",
        },
    )
    found = {m.path.relative_to(tmp_path).as_posix(): m for m in find_bundler_manifests(tmp_path)}
    assert set(found) == {"bundles/manifest.json", "other/assets-manifest.json"}
    assert found["bundles/manifest.json"].kind == "webpack"
    assert found["bundles/manifest.json"].outputs == {
        "bundles/js/main.3f2a9c1b.js",
        "bundles/main.77aa00bb.css",
        "bundles/img/logo.1234abcd.png",
    }
    assert found["other/assets-manifest.json"].outputs == {"other/app.0a1b2c3d.js"}


def test_other_json_files_of_those_names_are_not_bundler_manifests(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            # A web app manifest: keys without extensions, a list value.
            "manifest.json": json.dumps(
                {"name": "App", "start_url": "index.html", "icons": [{"src": "i.png"}]}
            ),
            "index.html": "x",
            "node_modules/pkg/manifest.json": json.dumps({"a.js": "a.js"}),
            "node_modules/pkg/a.js": "x",
            "broken/manifest.json": "{not json",
        },
    )
    assert find_bundler_manifests(tmp_path) == []


def test_outputs_never_leave_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside.js").write_text("x")
    root = tmp_path / "root"
    _write(root, {".vite/manifest.json": json.dumps({"a": {"file": "../outside.js"}})})
    (found,) = find_bundler_manifests(root)
    assert found.outputs == frozenset()
