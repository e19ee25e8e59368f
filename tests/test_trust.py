"""Trust by proof: which files keep their own name (bundler manifests, prehashed, pattern)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hashstore.build import build
from hashstore.errors import ConfigError
from hashstore.settings import Settings

from .helpers import make_tree

VITE_MANIFEST = {
    "src/main.js": {
        "file": "assets/main-BfD3a9xq.js",
        "isEntry": True,
        "imports": ["_vendor-C6x4mpVo.js"],
        "css": ["assets/main-Dk3_x9aZ.css"],
        "assets": ["assets/logo-AbCdEf12.png"],
    },
    "_vendor-C6x4mpVo.js": {"file": "assets/vendor-C6x4mpVo.js"},
}

VITE_FILES: dict[str, str | bytes] = {
    ".vite/manifest.json": json.dumps(VITE_MANIFEST),
    "assets/main-BfD3a9xq.js": (
        'import "./vendor-C6x4mpVo.js";\nfetch("/assets/x");\n'
        "//# sourceMappingURL=main-BfD3a9xq.js.map\n"
    ),
    "assets/main-BfD3a9xq.js.map": "{}",
    "assets/vendor-C6x4mpVo.js": "export const v = 1;\n",
    "assets/main-Dk3_x9aZ.css": ".a{background:url(./logo-AbCdEf12.png)}",
    "assets/logo-AbCdEf12.png": b"png",
    "favicon.ico": b"ico",  # from Vite's public/ directory: copied, not hashed, not listed
    # Also from public/: looks hashed, but no manifest lists it.
    "legacy-Ab12Cd34.css": ".b{background:url(favicon.ico)}",
}


def _keys(settings: Settings) -> dict[str, str]:
    return {name: f.key for name, f in build(settings).files.items()}


def test_vite_outputs_keep_their_names_and_bytes(tmp_path: Path) -> None:
    make_tree(tmp_path, VITE_FILES)
    built = build(Settings(sources=(tmp_path,)))
    listed = {
        "assets/main-BfD3a9xq.js",
        "assets/main-BfD3a9xq.js.map",
        "assets/vendor-C6x4mpVo.js",
        "assets/main-Dk3_x9aZ.css",
        "assets/logo-AbCdEf12.png",
    }
    for name in listed:
        f = built.files[name]
        assert f.key == name
        with f.open() as stream:
            assert stream.read() == (tmp_path / name).read_bytes(), name
    assert set(built.kept) == listed
    assert built.kept["assets/main-Dk3_x9aZ.css"] == f"listed by {tmp_path}/.vite/manifest.json"
    # Not listed: named by content. The manifest itself is under .vite/, ignored by default.
    assert built.files["favicon.ico"].key.startswith("favicon.")
    assert built.files["favicon.ico"].key != "favicon.ico"
    assert ".vite/manifest.json" not in built.files
    # CSS that only looks hashed is scanned and rewritten like any other.
    legacy = built.files["legacy-Ab12Cd34.css"]
    assert legacy.key != "legacy-Ab12Cd34.css"
    assert legacy.content == f".b{{background:url({built.files['favicon.ico'].key})}}".encode()
    # References in listed outputs are theirs: nothing is reported missing or rewritten.
    assert built.missing == ()


def test_outputs_of_a_prefixed_root_keep_their_prefixed_names(tmp_path: Path) -> None:
    make_tree(tmp_path / "dist", VITE_FILES)
    make_tree(tmp_path / "static", {"css/site.css": "body{}"})
    keys = _keys(Settings(sources=(tmp_path / "static", ("front", tmp_path / "dist"))))
    assert keys["front/assets/main-BfD3a9xq.js"] == "front/assets/main-BfD3a9xq.js"
    assert keys["css/site.css"] != "css/site.css"


def test_a_manifest_proves_only_its_own_roots_files(tmp_path: Path) -> None:
    # The first root wins a shadowed name; the second root's manifest says nothing about it.
    make_tree(tmp_path / "one", {"assets/vendor-C6x4mpVo.js": "other bytes"})
    make_tree(tmp_path / "two", VITE_FILES)
    keys = _keys(Settings(sources=(tmp_path / "one", tmp_path / "two")))
    assert keys["assets/vendor-C6x4mpVo.js"] != "assets/vendor-C6x4mpVo.js"
    assert keys["assets/main-BfD3a9xq.js"] == "assets/main-BfD3a9xq.js"


def test_webpack_manifest_outputs_keep_their_names(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "bundles/manifest.json": json.dumps({"main.js": "/static/bundles/main.0a1b2c3d.js"}),
            "bundles/main.0a1b2c3d.js": "1",
            "bundles/extra.0a1b2c3d.js": "2",
        },
    )
    keys = _keys(Settings(sources=(tmp_path,)))
    assert keys["bundles/main.0a1b2c3d.js"] == "bundles/main.0a1b2c3d.js"
    assert keys["bundles/extra.0a1b2c3d.js"] != "bundles/extra.0a1b2c3d.js"


def test_prehashed_globs_keep_names_but_css_is_still_rewritten(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "vendor/lib-1a2b3c4d.js": "1",
            "vendor/lib-1a2b3c4d.css": ".a{color:red}",
            "vendor/theme-9f8e7d6c.css": ".a{background:url(../img/bg.png)}",
            "vendor/font-5e6f7a8b.css": ".a{src:url(f-00aa11bb.woff)}",
            "vendor/f-00aa11bb.woff": b"woff",
            "img/bg.png": b"png",
        },
    )
    built = build(Settings(sources=(tmp_path,), prehashed=("vendor/*",)))
    keys = {name: f.key for name, f in built.files.items()}
    assert keys["vendor/lib-1a2b3c4d.js"] == "vendor/lib-1a2b3c4d.js"
    assert keys["vendor/lib-1a2b3c4d.css"] == "vendor/lib-1a2b3c4d.css"
    # Its reference to a kept name needs no rewriting, so it stays as it is, under its name.
    assert keys["vendor/font-5e6f7a8b.css"] == "vendor/font-5e6f7a8b.css"
    assert built.kept["vendor/lib-1a2b3c4d.js"] == "it matches `prehashed`"
    # Scanned like any CSS: rewriting changes its bytes, so its name no longer names them.
    theme = built.files["vendor/theme-9f8e7d6c.css"]
    assert theme.key != "vendor/theme-9f8e7d6c.css"
    assert theme.content is not None
    assert keys["img/bg.png"].encode() in theme.content
    assert keys["img/bg.png"] != "img/bg.png"


def test_prehashed_source_directory_declares_its_whole_root(tmp_path: Path) -> None:
    make_tree(tmp_path / "dist", {"a.js": "1", "sub/b.png": b"x"})
    make_tree(tmp_path / "static", {"c.js": "2"})
    settings = Settings(
        sources=(tmp_path / "static", ("ext", tmp_path / "dist")),
        prehashed=(str(tmp_path / "dist"),),
    )
    keys = _keys(settings)
    assert keys["ext/a.js"] == "ext/a.js"
    assert keys["ext/sub/b.png"] == "ext/sub/b.png"
    assert keys["c.js"] != "c.js"


def test_hashed_pattern_is_opt_in(tmp_path: Path) -> None:
    make_tree(tmp_path, {"js/app.3f2a9c1b.js": "1", "css/app-20240115.css": "body{}"})
    assert all(k != n for n, k in _keys(Settings(sources=(tmp_path,))).items())
    pattern = r"\.[0-9a-f]{8}\.js$"
    keys = _keys(Settings(sources=(tmp_path,), hashed_pattern=pattern))
    assert keys["js/app.3f2a9c1b.js"] == "js/app.3f2a9c1b.js"
    assert keys["css/app-20240115.css"] != "css/app-20240115.css"


def test_trust_settings_from_configuration_text() -> None:
    assert Settings().hashed_pattern is None
    assert Settings().prehashed == ()
    settings = Settings.from_mapping({"hashed_pattern": "", "prehashed": "dist/*, vendor/*"})
    assert settings.hashed_pattern is None
    assert settings.prehashed == ("dist/*", "vendor/*")
    with pytest.raises(ConfigError, match=r"HASHSTORE_HASHED_PATTERN = '\[' is invalid"):
        Settings.from_mapping({"hashed_pattern": "["}, describe=lambda n: f"HASHSTORE_{n.upper()}")


def test_a_prehashed_directory_that_is_no_source_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path / "static", {"a.js": "1"})
    make_tree(tmp_path / "elsewhere/dist", {"b.js": "2"})
    settings = Settings(sources=(tmp_path / "static",), prehashed=(str(tmp_path / "elsewhere"),))
    with pytest.raises(
        ConfigError, match=r"prehashed = '.*elsewhere' is invalid: a directory that is none"
    ):
        build(settings)
