"""ES modules in a build: relative specifiers point at hashed keys, in dependency order."""

from __future__ import annotations

import hashlib
import posixpath
import shutil
from collections import Counter
from pathlib import Path

import pytest

from hashstore.build import build, hashed_name
from hashstore.errors import MissingReferenceError
from hashstore.references import find_css_references
from hashstore.references_js import find_js_references
from hashstore.settings import Settings

from .helpers import make_tree
from .test_build import build_tree

MODULES = {
    "img/logo.png": b"png-1",
    "js/lib/util.js": "export const twice = (x) => x * 2;\n",
    "js/shared/dep.mjs": "export default 1;\n//# sourceMappingURL=dep.mjs.map\n",
    "js/shared/dep.mjs.map": '{"version":3,"sources":[],"mappings":""}',
    "js/page.js": 'import {twice} from "./lib/util.js";\nexport const page = twice(2);\n',
    "js/main.mjs": (
        'import {html} from "lit";\n'
        'import {twice} from "./lib/util.js";\n'
        "import dep from '../js/shared/dep.mjs';\n"
        'export * from "./lib/util.js";\n'
        'const label = "./lib/util.js"; // import "./lib/util.js"\n'
        "const logo = new URL('../img/logo.png', import.meta.url);\n"
        'document.body.onclick = () => import("./page.js");\n'
        'const worker = new Worker(import.meta.resolve("./page.js"), {type: "module"});\n'
    ),
}


def test_relative_specifiers_point_at_hashed_keys_and_bare_ones_stay(tmp_path: Path) -> None:
    out = build_tree(make_tree(tmp_path, MODULES))
    util = posixpath.basename(out["js/lib/util.js"][0])
    dep = posixpath.basename(out["js/shared/dep.mjs"][0])
    page = posixpath.basename(out["js/page.js"][0])
    logo = posixpath.basename(out["img/logo.png"][0])
    assert out["js/main.mjs"][1].decode() == (
        'import {html} from "lit";\n'
        f'import {{twice}} from "./lib/{util}";\n'
        f"import dep from './shared/{dep}';\n"
        f'export * from "./lib/{util}";\n'
        'const label = "./lib/util.js"; // import "./lib/util.js"\n'
        f"const logo = new URL('../img/{logo}', import.meta.url);\n"
        f'document.body.onclick = () => import("./{page}");\n'
        f'const worker = new Worker(import.meta.resolve("./{page}"), {{type: "module"}});\n'
    )
    assert out["js/page.js"][1].decode().startswith(f'import {{twice}} from "./lib/{util}";')
    dep_map = posixpath.basename(out["js/shared/dep.mjs.map"][0])
    assert out["js/shared/dep.mjs"][1].decode().endswith(f"sourceMappingURL={dep_map}\n")
    for name, (key, data) in out.items():
        if not name.endswith(".map"):
            assert key == hashed_name(name, hashlib.sha256(data).hexdigest(), 12)


def test_a_changed_module_changes_the_key_of_every_module_that_imports_it(tmp_path: Path) -> None:
    first = build_tree(make_tree(tmp_path / "one", MODULES))
    changed = {**MODULES, "js/lib/util.js": "export const twice = (x) => x + x;\n"}
    second = build_tree(make_tree(tmp_path / "two", changed))
    for name in ("js/lib/util.js", "js/page.js", "js/main.mjs"):
        assert second[name][0] != first[name][0], name
    assert second["js/shared/dep.mjs"] == first["js/shared/dep.mjs"]
    # The asset of new URL() is a dependency too.
    third = build_tree(make_tree(tmp_path / "three", {**MODULES, "img/logo.png": b"png-2"}))
    assert third["js/main.mjs"][0] != first["js/main.mjs"][0]
    assert third["js/page.js"] == first["js/page.js"]


def test_an_import_cycle_is_hashed_as_one_group(tmp_path: Path) -> None:
    files = {
        "js/a.mjs": 'import {b} from "./b.mjs";\nimport "./leaf.js";\nexport const a = 1;\n',
        "js/b.mjs": 'import {a} from "./a.mjs";\nexport const b = 2;\n',
        "js/leaf.js": "export {};\n",
    }
    first = build_tree(make_tree(tmp_path / "one", files))
    assert first == build_tree(make_tree(tmp_path / "two", files))
    a_key, a_bytes = first["js/a.mjs"]
    b_key, b_bytes = first["js/b.mjs"]
    assert f'from "./{posixpath.basename(b_key)}"'.encode() in a_bytes
    assert f'from "./{posixpath.basename(a_key)}"'.encode() in b_bytes
    changed = build_tree(make_tree(tmp_path / "three", {**files, "js/leaf.js": "export {x};\n"}))
    assert changed["js/a.mjs"][0] != a_key
    assert changed["js/b.mjs"][0] != b_key


def test_root_relative_specifiers_become_relative(tmp_path: Path) -> None:
    files = {"js/x.js": "export {};\n", "app.mjs": 'import "/static/js/x.js";\n'}
    out = build_tree(make_tree(tmp_path, files), base_url="/static/")
    assert out["app.mjs"][1].decode() == f'import "./{out["js/x.js"][0]}";\n'


def test_a_classic_script_gets_its_dynamic_import_and_source_maps_rewritten(
    tmp_path: Path,
) -> None:
    files = {
        "js/lazy.js": "export {};\n",
        "js/app.js.map": "{}",
        "js/app.js": (
            'window.load = () => import("./lazy.js"); /*# sourceMappingURL=app.js.map */\n'
            "var r = /import('.\\/lazy.js')/;\n"
        ),
    }
    out = build_tree(make_tree(tmp_path, files))
    lazy, app_map = (posixpath.basename(out[n][0]) for n in ("js/lazy.js", "js/app.js.map"))
    assert out["js/app.js"][1].decode() == (
        f'window.load = () => import("./{lazy}"); /*# sourceMappingURL={app_map} */\n'
        "var r = /import('.\\/lazy.js')/;\n"
    )


def test_a_missing_module_is_reported_as_written(tmp_path: Path) -> None:
    files = {"js/a.mjs": 'import "lit";\n\nimport {x} from "./gone.js";\nimport("../nope.mjs");\n'}
    result = build(Settings(sources=(make_tree(tmp_path, files),)))
    assert [str(m) for m in result.missing] == [
        "js/a.mjs:3: import \"./gone.js\" -> 'js/gone.js' not found",
        "js/a.mjs:4: import(\"../nope.mjs\") -> 'nope.mjs' not found",
    ]
    with pytest.raises(MissingReferenceError, match=r"js/a\.mjs:3"):
        build(Settings(sources=(tmp_path,), strict=True))


def test_a_specifier_with_unusual_characters_round_trips(tmp_path: Path) -> None:
    files = {"js/my mod's.js": "export {};\n", "js/a.mjs": "import './my mod\\'s.js';\n"}
    out = build_tree(make_tree(tmp_path, files))
    key = posixpath.basename(out["js/my mod's.js"][0]).replace(" ", "%20")
    assert out["js/a.mjs"][1].decode() == f"import './{key.replace(chr(39), chr(92) + chr(39))}';\n"


ESBUILD = Path(__file__).parent / "fixtures" / "bundlers" / "esbuild"


def test_esbuild_code_splitting_output_is_published_by_rewriting(tmp_path: Path) -> None:
    """esbuild 0.25 with ``--splitting --format=esm`` (tests/fixtures/bundlers/README.md): no
    manifest, so every file gets a hashstore name, and its chunks, which it loads with
    ``import``/``import()`` of relative specifiers, are rewritten to those names."""
    shutil.copytree(ESBUILD, tmp_path / "dist")
    out = build_tree(tmp_path)
    assert set(out) == {
        "dist/" + p.relative_to(ESBUILD).as_posix() for p in ESBUILD.rglob("*") if p.is_file()
    }
    keys = {key for key, _ in out.values()}
    followed: Counter[str] = Counter()
    for name, (key, data) in out.items():
        assert key == hashed_name(name, hashlib.sha256(data).hexdigest(), 12)
        if name.endswith(".js"):
            references = find_js_references(data.decode())
        elif name.endswith(".css"):
            references = find_css_references(data.decode())
        else:
            continue
        for ref in references:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(key), ref.url))
            assert target in keys, f"{key}: {ref.url} is not published"
            followed[ref.kind] += 1
    # The shared chunks (static imports), the two pages (import()), the logo (url()), the maps.
    assert followed == {"module": 6, "dynamic-import": 2, "url": 1, "sourcemap": 6}
    main = out["dist/main.js"][1].decode()
    assert "chunk-GBVKPMUT.js" not in main
    assert "chart-SOQGCGAN.js" not in main
