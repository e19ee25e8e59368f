from __future__ import annotations

import hashlib
import json
import posixpath
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from hashstore.build import build, hashed_name
from hashstore.errors import MissingReferenceError, SourceError
from hashstore.manifest import Manifest
from hashstore.references import find_css_references, resolve
from hashstore.settings import Settings

from .helpers import make_tree

FIXTURES = Path(__file__).parent / "fixtures"


def build_tree(root: Path, **options: object) -> dict[str, tuple[str, bytes]]:
    """Build ``root``; logical name -> (key, final bytes)."""
    result = build(Settings(sources=(root,), **options))  # type: ignore[arg-type]
    out = {}
    for name, f in result.files.items():
        with f.open() as stream:
            out[name] = (f.key, stream.read())
    return out


def test_hashed_name_puts_digest_before_the_last_extension() -> None:
    assert hashed_name("css/app.min.css", "ab" * 32, 12) == "css/app.min.abababababab.css"
    assert hashed_name("LICENSE", "cd" * 32, 8) == "LICENSE.cdcdcdcd"
    assert hashed_name("js/app.js.map", "ef" * 32, 10) == "js/app.js.efefefefef.map"


def test_key_is_the_sha256_of_the_final_bytes(tmp_path: Path) -> None:
    make_tree(tmp_path, {"img/a.png": b"png", "css/a.css": ".a{background:url(../img/a.png)}"})
    out = build_tree(tmp_path)
    for name, (key, data) in out.items():
        digest = hashlib.sha256(data).hexdigest()
        assert key == hashed_name(name, digest, 12)
    png_key = out["img/a.png"][0]
    assert out["css/a.css"][1] == f".a{{background:url(../{png_key})}}".encode()


def test_rewritten_references_stay_relative_and_keep_query_and_fragment(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "fonts/x.woff": b"font",
            "css/deep/a.css": "@font-face{src:url('../../fonts/x.woff?#iefix') format('woff')}",
        },
    )
    out = build_tree(tmp_path)
    font_key = out["fonts/x.woff"][0]
    assert out["css/deep/a.css"][1].decode() == (
        f"@font-face{{src:url('../../{font_key}?#iefix') format('woff')}}"
    )


def test_root_relative_references_under_the_static_path_become_relative(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "img/hero.png": b"hero",
            "css/a.css": ".h{background:url(/static/img/hero.png)}.o{background:url(/other/x.png)}",
        },
    )
    out = build_tree(tmp_path, base_url="/static/")
    hero = out["img/hero.png"][0]
    assert out["css/a.css"][1].decode() == (
        f".h{{background:url(../{hero})}}.o{{background:url(/other/x.png)}}"
    )


def test_changing_an_image_changes_every_stylesheet_that_depends_on_it(tmp_path: Path) -> None:
    files = {
        "img/a.png": b"one",
        "img/b.png": b"unrelated",
        "css/leaf.css": ".l{background:url(../img/a.png)}",
        "css/mid.css": '@import "leaf.css";',
        "css/top.css": '@import url("mid.css");',
        "css/other.css": ".o{background:url(../img/b.png)}",
    }
    before = build_tree(make_tree(tmp_path / "v1", files))
    after = build_tree(make_tree(tmp_path / "v2", {**files, "img/a.png": b"two"}))
    changed = {name for name in files if before[name][0] != after[name][0]}
    assert changed == {"img/a.png", "css/leaf.css", "css/mid.css", "css/top.css"}


def test_a_reference_cycle_is_hashed_as_one_group(tmp_path: Path) -> None:
    files = {
        "img/x.png": b"x1",
        "css/a.css": '@import "b.css";\n.a{background:url(../img/x.png)}',
        "css/b.css": '@import "a.css";',
    }
    first = build_tree(make_tree(tmp_path / "one", files))
    again = build_tree(make_tree(tmp_path / "two", files))
    assert first == again
    a_key, a_bytes = first["css/a.css"]
    b_key, b_bytes = first["css/b.css"]
    assert a_bytes.startswith(f'@import "{posixpath.basename(b_key)}";'.encode())
    assert b_bytes == f'@import "{posixpath.basename(a_key)}";'.encode()
    changed = build_tree(make_tree(tmp_path / "three", {**files, "img/x.png": b"x2"}))
    assert changed["css/a.css"][0] != a_key
    assert changed["css/b.css"][0] != b_key


def test_a_file_referring_to_itself_builds(tmp_path: Path) -> None:
    make_tree(tmp_path, {"css/a.css": ".a{cursor:url(a.css#x),auto}"})
    key, data = build_tree(tmp_path)["css/a.css"]
    assert data == f".a{{cursor:url({posixpath.basename(key)}#x),auto}}".encode()


def test_a_long_chain_builds_without_recursion_limits(tmp_path: Path) -> None:
    files = {f"css/c{i}.css": f'@import "c{i + 1}.css";' for i in range(3000)}
    files["css/c3000.css"] = ".end{}"
    out = build_tree(make_tree(tmp_path, files))
    assert out["css/c0.css"][1].startswith(b'@import "c1.')


def test_md5_is_of_the_final_bytes_from_the_same_read(tmp_path: Path) -> None:
    """Each file's MD5 (the manifest's ``md5``, for ``verify`` to compare with ETags) is taken
    in the read that gives its SHA-256: streamed, read whole, and rewritten files alike."""
    make_tree(
        tmp_path,
        {
            "img/a.png": b"png",  # streamed: no references to look for
            "css/plain.css": ".p{color:red}",  # read whole, nothing to rewrite
            "css/a.css": ".a{background:url(../img/a.png)}",  # rewritten
            "css/b.css": "@import 'c.css';",  # a cycle, hashed as one group
            "css/c.css": "@import 'b.css';",
        },
    )
    result = build(Settings(sources=(tmp_path,)))
    for name, f in result.files.items():
        with f.open() as stream:
            data = stream.read()
        assert f.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest(), name
    assert result.files["css/a.css"].content is not None
    manifest = Manifest.from_build(result, release=result.release, base_url="/static/")
    assert {name: e.md5 for name, e in manifest.items()} == {
        name: f.md5 for name, f in result.files.items()
    }


def test_no_md5_for_files_uploaded_in_parts(tmp_path: Path) -> None:
    """A multipart object's ETag is no MD5 of its bytes: files of ``multipart_threshold`` bytes
    or more are not MD5-hashed at all (their SHA-256 still is)."""
    threshold = 5 * 1024 * 1024
    make_tree(
        tmp_path,
        {
            "media/big.bin": b"b" * threshold,
            "media/small.bin": b"s" * (threshold - 1),
            "css/big.css": "/*" + "c" * (threshold - 4) + "*/",
        },
    )
    result = build(
        Settings(sources=(tmp_path,), multipart_threshold=threshold, multipart_chunksize=threshold)
    )
    assert result.files["media/big.bin"].md5 is None
    assert result.files["css/big.css"].md5 is None
    small = result.files["media/small.bin"]
    assert small.md5 == hashlib.md5(b"s" * (threshold - 1), usedforsecurity=False).hexdigest()
    assert result.files["media/big.bin"].digest == hashlib.sha256(b"b" * threshold).hexdigest()


def test_same_input_gives_byte_identical_output_and_manifest(tmp_path: Path) -> None:
    source = FIXTURES / "trees" / "dependent"
    copy = shutil.copytree(source, tmp_path / "copy")
    one, two = build(Settings(sources=(source,))), build(Settings(sources=(copy,)))
    m1 = Manifest.from_build(one, release=one.release, base_url="/static/").to_json()
    m2 = Manifest.from_build(two, release=two.release, base_url="/static/").to_json()
    assert m1 == m2
    for name in one.files:
        with one.files[name].open() as a, two.files[name].open() as b:
            assert a.read() == b.read()


def test_manifest_of_the_fixture_tree_matches_the_checked_in_file() -> None:
    built = build(Settings(sources=(FIXTURES / "trees" / "dependent",)))
    manifest = Manifest.from_build(built, release=built.release, base_url="/static/")
    expected = (FIXTURES / "expected" / "dependent-manifest.json").read_bytes()
    assert manifest.to_json() == expected


def test_names_that_only_look_hashed_are_hashed_and_rewritten(tmp_path: Path) -> None:
    # No bundler manifest, no `prehashed`, no `hashed_pattern`: a date or a hex run in a name
    # proves nothing, so these are named by their content like any other file.
    make_tree(
        tmp_path,
        {
            "css/app-20240115.css": ".a{background:url(../img/logo.3f2a9c1b.png)}",
            "img/logo.3f2a9c1b.png": b"png",
            "assets/index-3f2a9c1b.js": "1;\n//# sourceMappingURL=index-3f2a9c1b.js.map",
            "assets/index-3f2a9c1b.js.map": "{}",
        },
    )
    out = build_tree(tmp_path)
    for name, (key, _) in out.items():
        assert key != name
        assert key.startswith(name.rsplit(".", 1)[0] + ".")
    logo = out["img/logo.3f2a9c1b.png"][0]
    assert out["css/app-20240115.css"][1] == f".a{{background:url(../{logo})}}".encode()
    source_map = posixpath.basename(out["assets/index-3f2a9c1b.js.map"][0])
    assert out["assets/index-3f2a9c1b.js"][1].endswith(f"sourceMappingURL={source_map}".encode())


def test_files_that_need_no_rewriting_are_streamed_from_disk(tmp_path: Path) -> None:
    make_tree(tmp_path, {"img/a.png": b"x" * 10, "css/plain.css": "body{}", "js/a.js": "1"})
    result = build(Settings(sources=(tmp_path,)))
    assert all(f.content is None for f in result.files.values())


def test_missing_references_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    make_tree(tmp_path, {"css/a.css": "body{}\n.x{background:url(../img/nope.png)}\n"})
    result = build(Settings(sources=(tmp_path,)))
    assert [str(m) for m in result.missing] == [
        "css/a.css:2: url(../img/nope.png) -> 'img/nope.png' not found"
    ]
    with result.files["css/a.css"].open() as stream:
        assert b"url(../img/nope.png)" in stream.read()


def test_strict_makes_every_missing_reference_one_error(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "css/a.css": ".x{background:url(gone.png)}",
            "js/b.js": "1;\n//# sourceMappingURL=b.js.map\n",
        },
    )
    with pytest.raises(MissingReferenceError) as info:
        build(Settings(sources=(tmp_path,), strict=True))
    message = str(info.value)
    assert "css/a.css:1: url(gone.png) -> 'css/gone.png' not found" in message
    assert "js/b.js:2: sourceMappingURL=b.js.map -> 'js/b.js.map' not found" in message
    assert len(info.value.missing) == 2


def test_allow_missing_exempts_vendored_files(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {"vendor/lib.css": ".x{background:url(gone.png)}", "css/a.css": "@import 'nope.css';"},
    )
    result = build(Settings(sources=(tmp_path,), allow_missing=("vendor/*",)))
    assert [m.source for m in result.missing] == ["css/a.css"]


def test_hash_length_is_configurable(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.txt": "a"})
    ((key, _),) = build_tree(tmp_path, hash_length=20).values()
    assert len(key) == len("a..txt") + 20


def test_first_source_root_wins(tmp_path: Path) -> None:
    make_tree(tmp_path / "one", {"x.txt": "first"})
    make_tree(tmp_path / "two", {"x.txt": "second", "y.txt": "only here"})
    result = build(Settings(sources=(tmp_path / "one", tmp_path / "two")))
    with result.files["x.txt"].open() as stream:
        assert stream.read() == b"first"
    assert "y.txt" in result.files
    assert result.scanned is not None
    assert [s.name for s in result.scanned.shadowed] == ["x.txt"]


def test_django_admin_static_builds_with_every_reference_resolving(tmp_path: Path) -> None:
    django = pytest.importorskip("django")
    admin_static = Path(django.__file__).parent / "contrib" / "admin" / "static"
    result = build(Settings(sources=(admin_static,)))
    keys = {f.key for f in result.files.values()}
    originals = set(result.files)
    checked = 0
    for f in result.files.values():
        if not f.name.endswith(".css"):
            continue
        with f.open() as stream:
            text = stream.read().decode()
        for ref in find_css_references(text):
            target = resolve(ref.url, f.key, "/static/")
            if target is None:
                continue
            if target in originals:  # left as written: only when it is already hashed
                assert result.files[target].key == target
            else:
                assert target in keys, f"{f.name}: {ref.url} points at nothing"
                checked += 1
    assert checked > 10
    assert not result.missing


def test_release_id_depends_only_on_content(tmp_path: Path) -> None:
    make_tree(tmp_path / "a", {"x.txt": "1"})
    make_tree(tmp_path / "b", {"x.txt": "1"})
    make_tree(tmp_path / "c", {"x.txt": "2"})
    ids = [build(Settings(sources=(tmp_path / d,))).release for d in "abc"]
    assert ids[0] == ids[1] != ids[2]
    json.dumps(ids)


def test_references_climbing_out_of_the_source_root_are_missing(tmp_path: Path) -> None:
    make_tree(tmp_path / "outside", {"x.png": b"a file beside the root, never published"})
    root = make_tree(
        tmp_path / "root",
        {"css/a.css": "body{}\n.x{background:url(../../outside/x.png)}\n.y{src:url(../ok.png)}\n"},
    )
    (root / "ok.png").write_bytes(b"png")
    result = build(Settings(sources=(root,)))
    assert [str(m) for m in result.missing] == [
        "css/a.css:2: url(../../outside/x.png) -> '../outside/x.png' is outside the source root"
    ]
    with result.files["css/a.css"].open() as stream:
        assert b"url(../../outside/x.png)" in stream.read()
    with pytest.raises(MissingReferenceError, match=r"css/a.css:2: .* outside the source root"):
        build(Settings(sources=(root,), strict=True))
    assert not build(Settings(sources=(root,), strict=True, allow_missing=("css/*",))).missing


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b"\x00\x00\xfe\xff"),
        ("utf-16-le", b""),  # no mark: its @charset rule says so
        ("utf-16-be", b""),
    ],
)
def test_utf16_and_utf32_css_is_rewritten_in_its_own_encoding(
    tmp_path: Path, codec: str, bom: bytes
) -> None:
    css = '@charset "utf-16";\n.a{background:url(../img/ü.png)}\n.b{background:url(gone.png)}\n'
    make_tree(tmp_path, {"css/a.css": bom + css.encode(codec), "img/ü.png": b"png"})
    result = build(Settings(sources=(tmp_path,)))
    png = result.files["img/ü.png"].key
    built = result.files["css/a.css"]
    assert built.content is not None
    assert built.content.startswith(bom)
    text = built.content[len(bom) :].decode(codec)
    assert text == css.replace("../img/ü.png", "../" + quote(png))
    assert [str(m) for m in result.missing] == [
        "css/a.css:3: url(gone.png) -> 'css/gone.png' not found"
    ]


def test_css_that_is_not_valid_in_the_encoding_it_declares_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path, {"css/a.css": b"\xff\xfe" + ".a{}".encode("utf-16-le") + b"\x00"})
    with pytest.raises(SourceError, match=r"a\.css: its byte order mark says UTF-16-LE"):
        build(Settings(sources=(tmp_path,)))
