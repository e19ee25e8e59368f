"""Tests of hashstore.bundlers: the Vite and webpack manifests, as the bundlers write them.

``tests/fixtures/bundlers/`` holds real output of Vite 8 and webpack 5 (see its README); each
test copies what it needs into ``tmp_path``, often under a subdirectory, so that outputs are
checked relative to a source root that is not the output directory.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from hashstore.bundlers import BundlerEntry, find_bundler_manifests, read_bundler_manifest
from hashstore.errors import SourceError
from tests.helpers import make_tree

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bundlers"


def copy_output(name: str, destination: Path) -> Path:
    shutil.copytree(FIXTURES / name, destination, dirs_exist_ok=True)
    return destination


def edit_json(path: Path, change: object) -> None:
    data = json.loads(path.read_text())
    assert callable(change)
    change(data)
    path.write_text(json.dumps(data))


# -- Vite ---------------------------------------------------------------------------------------


def test_vite_manifest_lists_every_output_relative_to_the_source_root(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "frontend" / "dist")

    (manifest,) = find_bundler_manifests(tmp_path)

    assert manifest.kind == "vite"
    assert manifest.path == tmp_path / "frontend" / "dist" / ".vite" / "manifest.json"
    written = {
        p.relative_to(tmp_path).as_posix()
        for p in (tmp_path / "frontend" / "dist" / "assets").iterdir()
    }
    # Everything Vite wrote is listed (source maps through the files they belong to).
    assert manifest.outputs == written
    assert "frontend/dist/assets/main-Dm7XGA0i.js.map" in manifest.outputs


def test_vite_entries_keep_every_field(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "dist")

    (manifest,) = find_bundler_manifests(tmp_path)

    main = manifest.entries["src/main.js"]
    assert main == BundlerEntry(
        name="src/main.js",
        file="dist/assets/main-Dm7XGA0i.js",
        src="src/main.js",
        is_entry=True,
        is_dynamic_entry=False,
        module=True,
        imports=("_format-CC8VPYeM.js",),
        dynamic_imports=("src/pages/chart.js", "src/pages/table.js"),
        css=("dist/assets/main-CfYyqprX.css",),
        assets=(
            "dist/assets/config-5O7l3X8c.json",
            "dist/assets/fixture-Q1uWclxH.woff2",
            "dist/assets/logo-DSY_3KWA.png",
        ),
    )
    chart = manifest.entries["src/pages/chart.js"]
    assert chart.is_dynamic_entry
    assert not chart.is_entry
    assert chart.imports == ("_data-CaAsa1Lk.js",)
    assert [e.name for e in manifest.entry_points()] == ["src/admin.js", "src/main.js"]


def test_vite_entry_files_follow_static_imports_transitively(tmp_path: Path) -> None:
    copy_output("vite", tmp_path)
    path = tmp_path / ".vite" / "manifest.json"
    assets = tmp_path / "assets"
    # A deeper graph than the fixture's: main -> format -> deep (with CSS), and a cycle back.
    (assets / "deep-AAAA1111.js").write_text("export {}")
    (assets / "deep-AAAA1111.css").write_text("p{}")

    def deepen(data: dict[str, dict[str, object]]) -> None:
        data["_format-CC8VPYeM.js"]["imports"] = ["_deep-AAAA1111.js"]
        data["_deep-AAAA1111.js"] = {
            "file": "assets/deep-AAAA1111.js",
            "imports": ["src/main.js", "_format-CC8VPYeM.js"],
            "css": ["assets/deep-AAAA1111.css"],
        }

    edit_json(path, deepen)
    manifest = read_bundler_manifest(path, tmp_path)
    assert manifest is not None

    files = manifest.files_of("src/main.js")

    assert files.file == "assets/main-Dm7XGA0i.js"
    assert files.module is True
    # import() chunks and what they import, for the import map's integrity; not preloaded.
    assert files.lazy == (
        "assets/chart-B-hFiYI_.js",
        "assets/table-B82S2zE2.js",
        "assets/data-CaAsa1Lk.js",
    )
    # Dependencies first; the dynamic imports are not preloaded.
    assert files.imports == ("assets/deep-AAAA1111.js", "assets/format-CC8VPYeM.js")
    assert files.css == ("assets/deep-AAAA1111.css", "assets/main-CfYyqprX.css")
    with pytest.raises(KeyError):
        manifest.files_of("src/missing.js")


def test_vite_2_to_4_manifest_at_the_output_root_is_read(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "out")
    (tmp_path / "out" / ".vite" / "manifest.json").rename(tmp_path / "out" / "manifest.json")
    (tmp_path / "out" / ".vite").rmdir()

    (manifest,) = find_bundler_manifests(tmp_path)

    assert manifest.kind == "vite"
    assert manifest.entries["src/admin.js"].file == "out/assets/admin-Dw5Bt5da.js"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update({"src/main.js": "assets/main.js"}), "expected an object"),
        (lambda d: d["src/main.js"].pop("file"), "'file' must be a path"),
        (lambda d: d["src/main.js"].update(file="/assets/x.js"), "not a relative output path"),
        (lambda d: d["src/main.js"].update(file="../../x.js"), "outside the source root"),
        (lambda d: d["src/main.js"].update(file="assets/gone-1234.js"), "manifest is stale"),
        (lambda d: d["src/main.js"].update(imports="_x.js"), "'imports' must be a list"),
        (lambda d: d["src/main.js"].update(imports=["_x.js"]), "'_x.js', which is not in"),
        (lambda d: d["src/main.js"].update(isEntry="yes"), "'isEntry' must be true or false"),
        (lambda d: d["src/main.js"].update(css=[3]), "'css' must be a list of strings"),
        (lambda d: d["src/main.js"].update(bogus=1), "unknown field(s) bogus"),
    ],
)
def test_a_malformed_vite_manifest_is_an_error_naming_it(
    tmp_path: Path, change: object, message: str
) -> None:
    root = copy_output("vite", tmp_path / "root")
    path = root / ".vite" / "manifest.json"
    edit_json(path, change)

    with pytest.raises(SourceError) as caught:
        find_bundler_manifests(root)

    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_vite_manifest_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    path = make_tree(tmp_path, {".vite/manifest.json": '{"src/main.js": '}) / ".vite/manifest.json"

    with pytest.raises(SourceError, match="is not valid JSON") as caught:
        find_bundler_manifests(tmp_path)

    assert caught.value.path == str(path)


def test_vite_manifest_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path, {".vite/manifest.json": "[]"})

    with pytest.raises(SourceError, match="is not a Vite manifest"):
        find_bundler_manifests(tmp_path)


# -- webpack ------------------------------------------------------------------------------------


def test_webpack_manifest_plugin(tmp_path: Path) -> None:
    root = copy_output("webpack", tmp_path / "static" / "bundle")
    (root / "assets-manifest.json").unlink()

    (manifest,) = find_bundler_manifests(tmp_path)

    assert manifest.kind == "webpack"
    assert manifest.path == root / "manifest.json"
    assert manifest.entries["main.js"].file == "static/bundle/main.4d5be395.js"
    assert manifest.entries["main.js"].module is False
    assert manifest.entries["assets/logo.png"].file == "static/bundle/assets/logo.fb20ddce.png"
    assert manifest.entries["main.js"].is_entry
    assert not manifest.entries["assets/logo.png"].is_entry
    written = {
        p.relative_to(tmp_path).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert manifest.outputs == written


def test_webpack_manifest_plugin_with_a_public_path(tmp_path: Path) -> None:
    root = copy_output("webpack", tmp_path / "dist")
    (root / "assets-manifest.json").unlink()
    # publicPath "/static/dist/" or a CDN URL is part of every value.
    edit_json(
        root / "manifest.json",
        lambda d: d.update({k: ("https://cdn.example.com/static/dist/" + v) for k, v in d.items()}),
    )

    (manifest,) = find_bundler_manifests(tmp_path)

    assert manifest.entries["main.css"].file == "dist/main.8d012bd0.css"
    assert manifest.entries["assets/fixture.woff2"].file == "dist/assets/fixture.e52a08dc.woff2"


def test_webpack_assets_manifest_entrypoints(tmp_path: Path) -> None:
    root = copy_output("webpack", tmp_path / "dist")
    (root / "manifest.json").unlink()

    (manifest,) = find_bundler_manifests(tmp_path)

    assert manifest.path == root / "assets-manifest.json"
    assert manifest.kind == "webpack"
    main = manifest.entries["main"]
    assert main.is_entry
    assert main.module is False
    assert main.file == "dist/main.4d5be395.js"
    assert main.imports == ("runtime.js", "405.4b83239f.js")
    assert main.css == ("dist/main.8d012bd0.css",)
    files = manifest.files_of("main")
    # Classic scripts that must run in this order, runtime first.
    assert files.imports == ("dist/runtime.d7eddd59.js", "dist/405.4b83239f.js")
    assert files.css == ("dist/main.8d012bd0.css",)
    assert manifest.files_of("admin").file == "dist/admin.c2ed440f.js"
    assert "dist/assets/config.3fb82924.json" in manifest.outputs
    assert "dist/manifest.json" not in manifest.outputs


def test_both_webpack_plugins_are_read_and_neither_lists_a_manifest(tmp_path: Path) -> None:
    copy_output("webpack", tmp_path)

    manifests = find_bundler_manifests(tmp_path)

    assert [m.path.name for m in manifests] == ["assets-manifest.json", "manifest.json"]
    for manifest in manifests:
        assert "assets-manifest.json" not in manifest.outputs
        assert "manifest.json" not in manifest.outputs
    assert manifests[0].outputs == manifests[1].outputs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update({"main.js": 12}), "expected a URL or an object with 'src'"),
        (lambda d: d.update({"main.js": {"src": "gone.1234.js"}}), "manifest is stale"),
        (lambda d: d.update(entrypoints=[]), "'entrypoints' must be an object"),
        (lambda d: d["entrypoints"].update(main={"assets": {}}), "lists no 'js' or 'css'"),
        (lambda d: d["entrypoints"].update(main={"assets": {"js": ["x.js"]}}), "names no file"),
    ],
)
def test_a_malformed_assets_manifest_is_an_error_naming_it(
    tmp_path: Path, change: object, message: str
) -> None:
    root = copy_output("webpack", tmp_path / "root")
    path = root / "assets-manifest.json"
    edit_json(path, change)

    with pytest.raises(SourceError) as caught:
        find_bundler_manifests(root)

    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_stale_webpack_manifest_plugin_output_is_an_error(tmp_path: Path) -> None:
    root = copy_output("webpack", tmp_path / "root")
    (root / "main.4d5be395.js").unlink()

    with pytest.raises(SourceError, match=re.escape("'main.js': 'main.4d5be395.js' names no file")):
        find_bundler_manifests(root)


# -- what is not a bundler manifest -------------------------------------------------------------


def test_a_web_app_manifest_is_not_a_bundler_manifest(tmp_path: Path) -> None:
    web_app = {"name": "Shop", "short_name": "Shop", "start_url": "/", "display": "standalone"}
    make_tree(
        tmp_path,
        {
            "manifest.json": json.dumps(web_app),
            "icons/manifest.json": json.dumps({**web_app, "icons": [{"src": "a.png"}]}),
            "empty/manifest.json": "{}",
        },
    )

    assert find_bundler_manifests(tmp_path) == []


def test_dependencies_and_hidden_directories_are_not_searched(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "node_modules" / "pkg" / "dist")
    copy_output("vite", tmp_path / ".cache" / "dist")
    make_tree(tmp_path, {"node_modules/bad/assets-manifest.json": "not json"})

    assert find_bundler_manifests(tmp_path) == []


def test_several_manifests_are_found_in_path_order(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "b")
    copy_output("webpack", tmp_path / "a")

    found = find_bundler_manifests(tmp_path)

    assert [m.path.relative_to(tmp_path).as_posix() for m in found] == [
        "a/assets-manifest.json",
        "a/manifest.json",
        "b/.vite/manifest.json",
    ]


def test_hand_written_manifests_with_public_paths_and_integrity(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "bundles/manifest.json": json.dumps(
                {
                    "main.js": "/static/bundles/js/main.3f2a9c1b.js",
                    "main.css": "auto/main.77aa00bb.css",
                    "automain.css": "automain.77aa00bb.css",
                    "logo.png": "https://cdn.example.com/x/bundles/img/logo.1234abcd.png",
                    "main.js.map": "/static/bundles/js/main.3f2a9c1b.js.map",
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
    # The source map was stripped before the deploy: left out, not an error.
    assert found["bundles/manifest.json"].outputs == {
        "bundles/js/main.3f2a9c1b.js",
        "bundles/main.77aa00bb.css",
        "bundles/img/logo.1234abcd.png",
    }
    assert found["bundles/manifest.json"].entries["automain.css"].file == (
        "bundles/main.77aa00bb.css"
    )
    assert found["other/assets-manifest.json"].outputs == {"other/app.0a1b2c3d.js"}
    assert found["other/assets-manifest.json"].entries["app"].is_entry


def test_other_json_files_named_manifest_json_are_left_alone(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            # A web app manifest whose values are all strings, one naming a file.
            "manifest.json": json.dumps({"name": "App", "start_url": "index.html"}),
            "index.html": "x",
            "broken/manifest.json": "{not json",
            "list/manifest.json": "[1, 2]",
        },
    )

    assert find_bundler_manifests(tmp_path) == []


def test_outputs_never_leave_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside.js").write_text("x")
    root = tmp_path / "root"
    make_tree(root, {".vite/manifest.json": json.dumps({"a": {"file": "../outside.js"}})})

    with pytest.raises(SourceError, match="outside the source root"):
        find_bundler_manifests(root)
