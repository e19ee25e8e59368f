"""Entry points: a bundle's entry graph carried into hashstore's manifest and rendered as tags.

The bundles are the real Vite 8 and webpack 5 outputs in ``tests/fixtures/bundlers/``, copied
into a source root, published to a directory, and rendered through each front door: the
manifest, ``hashstore url``, Flask's ``entry_tags``/``import_map`` globals and Django's tags.
Expected tags are computed from the published manifest, so a key never appears hard-coded.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from hashstore import publish
from hashstore.build import build
from hashstore.cli import main
from hashstore.errors import ConfigError, ManifestError, SourceError, UnknownAssetError
from hashstore.manifest import Manifest
from hashstore.settings import Settings
from tests.conftest import S3Bucket
from tests.helpers import make_tree
from tests.s3proxy import S3Proxy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bundlers"
CDN = "https://cdn.example.test/static/"


def copy_output(name: str, destination: Path) -> Path:
    shutil.copytree(FIXTURES / name, destination, dirs_exist_ok=True)
    return destination


def publish_dir(tmp_path: Path, sources: list[object], **options: object) -> Manifest:
    manifest = tmp_path / "hashstore.json"
    args = ["publish", *(str(s) for s in sources), "--to", str(tmp_path / "out")]
    args += ["--base-url", CDN, "--manifest", str(manifest)]
    for flag, value in options.items():
        args += [f"--{flag.replace('_', '-')}", str(value)]
    assert main(args) == 0
    return Manifest.load(manifest)


def attributes(html: str) -> list[dict[str, str]]:
    """Each element of ``html`` (one a line) as its tag name and attributes."""
    elements = []
    for line in html.splitlines():
        match = re.fullmatch(r"<(\w+)((?: [\w-]+(?:=\"[^\"]*\")?)*)>(?:</script>)?", line)
        assert match, line
        attrs = dict(re.findall(r' ([\w-]+)(?:="([^"]*)")?', match.group(2)))
        elements.append({"tag": match.group(1), **attrs})
    return elements


def expected_vite_main(manifest: Manifest, prefix: str = "") -> list[dict[str, str]]:
    """What Vite's guide says a page needs for src/main.js, from the published manifest."""

    def sri(name: str) -> dict[str, str]:
        return {"integrity": manifest.integrity(name), "crossorigin": "anonymous"}

    css = prefix + "assets/main-CfYyqprX.css"
    shared = prefix + "assets/format-CC8VPYeM.js"
    main_js = prefix + "assets/main-Dm7XGA0i.js"
    return [
        {"tag": "link", "rel": "stylesheet", "href": manifest.url(css), **sri(css)},
        {"tag": "link", "rel": "modulepreload", "href": manifest.url(shared), **sri(shared)},
        {"tag": "script", "type": "module", "src": manifest.url(main_js), **sri(main_js)},
    ]


# -- the manifest's entries section -------------------------------------------------------------


def test_publish_carries_vite_entries_into_the_manifest(tmp_path: Path) -> None:
    root = copy_output("vite", tmp_path / "src" / "dist")

    manifest = publish_dir(tmp_path, [tmp_path / "src"])

    assert set(manifest.entries) == {"src/admin.js", "src/main.js"}
    main_entry = manifest.entry_point("src/main.js")
    assert main_entry.file == "dist/assets/main-Dm7XGA0i.js"
    assert main_entry.module is True
    assert main_entry.imports == ("dist/assets/format-CC8VPYeM.js",)
    assert main_entry.css == ("dist/assets/main-CfYyqprX.css",)
    assert main_entry.lazy == (
        "dist/assets/chart-B-hFiYI_.js",
        "dist/assets/table-B82S2zE2.js",
        "dist/assets/data-CaAsa1Lk.js",
    )
    # The section is in the file, and every name it gives is a published file.
    document = json.loads((tmp_path / "hashstore.json").read_text())
    assert document["entries"]["src/admin.js"] == {
        "file": "dist/assets/admin-Dw5Bt5da.js",
        "module": True,
        "imports": ["dist/assets/format-CC8VPYeM.js"],
        "css": [],
    }
    # Bundler output is published whole: its own names, its own bytes.
    for name in (main_entry.file, *main_entry.imports, *main_entry.css):
        assert manifest[name].key == name
        assert (tmp_path / "out" / name).read_bytes() == (root / name[len("dist/") :]).read_bytes()


def test_release_record_keeps_the_entries(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "src")
    manifest = publish_dir(tmp_path, [tmp_path / "src"])

    record = tmp_path / "out" / ".hashstore" / "releases" / f"{manifest.release}.json"
    stored = Manifest.parse(record.read_bytes())

    assert stored.entries == manifest.entries


def test_a_build_without_bundles_has_no_entries_section(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {"css/app.css": "a{}"})

    manifest = publish_dir(tmp_path, [tmp_path / "src"])

    assert manifest.entries == {}
    assert "entries" not in json.loads((tmp_path / "hashstore.json").read_text())
    with pytest.raises(UnknownAssetError, match="no bundler manifest was in the sources"):
        manifest.entry_point("src/main.js")


def test_unknown_entry_names_close_matches(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "src")
    manifest = publish_dir(tmp_path, [tmp_path / "src"])

    with pytest.raises(UnknownAssetError, match=r"Did you mean 'src/main\.js'") as caught:
        manifest.entry_point("src/mian.js")

    assert str(tmp_path / "hashstore.json") in str(caught.value)


def test_prefixed_roots_prefix_entry_files(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "front")

    settings = Settings(sources=(("app", tmp_path / "front"),))
    entries = build(settings).entries

    assert entries["src/main.js"].file == "app/assets/main-Dm7XGA0i.js"
    assert entries["src/main.js"].css == ("app/assets/main-CfYyqprX.css",)


def test_an_entry_whose_files_are_ignored_is_an_error(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "src")

    settings = Settings(sources=(tmp_path / "src",), ignore=(".*", "format-*.js"))
    with pytest.raises(
        SourceError, match=re.escape("needs 'assets/format-CC8VPYeM.js', which is not in")
    ):
        build(settings)


def test_two_bundles_giving_one_entry_different_files_is_an_error(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "a")
    copy_output("vite", tmp_path / "b")

    settings = Settings(sources=(tmp_path / "a", ("b", tmp_path / "b")))
    with pytest.raises(SourceError, match=re.escape("entry 'src/admin.js' is also in")):
        build(settings)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "'entries' must be an object"),
        ({"m": {"file": "a.js", "module": True, "imports": []}}, "malformed"),
        ({"m": {"file": "a.js", "module": "yes", "imports": [], "css": []}}, "malformed"),
        ({"m": {"file": "a.js", "module": True, "imports": "b.js", "css": []}}, "malformed"),
        ({"m": {"file": "gone.js", "module": True, "imports": [], "css": []}}, "'gone.js'"),
        ({"m": {"file": "a.js", "module": True, "imports": ["x.js"], "css": []}}, "'x.js'"),
    ],
)
def test_a_malformed_entries_section_is_a_manifest_error(
    tmp_path: Path, entries: object, message: str
) -> None:
    files = {
        "a.js": {"key": "a.1.js", "sha256": "ab" * 32, "size": 1, "integrity": "sha256-x"},
    }
    document = {"hashstore": 1, "release": "r", "base_url": "/", "files": files}
    path = tmp_path / "hashstore.json"
    path.write_text(json.dumps({**document, "entries": entries}))

    with pytest.raises(ManifestError, match=re.escape(message)) as caught:
        Manifest.load(path)

    assert str(path) in str(caught.value)


# -- hashstore url --------------------------------------------------------------------------------


def test_hashstore_url_of_an_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_output("vite", tmp_path / "src")
    manifest = publish_dir(tmp_path, [tmp_path / "src"])
    capsys.readouterr()
    path = str(tmp_path / "hashstore.json")

    assert main(["url", "src/main.js", "--manifest", path, "--integrity"]) == 0
    url, integrity = capsys.readouterr().out.split()
    assert url == manifest.url("assets/main-Dm7XGA0i.js")
    assert integrity == manifest.integrity("assets/main-Dm7XGA0i.js")

    assert main(["url", "src/main.js", "--tags", "--manifest", path]) == 0
    assert attributes(capsys.readouterr().out.strip()) == expected_vite_main(manifest)

    assert main(["url", "assets/main-CfYyqprX.css", "--tags", "--manifest", path]) == 0
    (link,) = attributes(capsys.readouterr().out.strip())
    assert link["href"] == manifest.url("assets/main-CfYyqprX.css")

    assert main(["url", "assets/logo-DSY_3KWA.png", "--tags", "--manifest", path]) == 1
    assert "makes tags for .css, .js and .mjs" in capsys.readouterr().err


def test_webpack_entry_points_render_classic_scripts_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_output("webpack", tmp_path / "src")
    manifest = publish_dir(tmp_path, [tmp_path / "src"])
    capsys.readouterr()

    assert main(["url", "main", "--tags", "--manifest", str(tmp_path / "hashstore.json")]) == 0

    elements = attributes(capsys.readouterr().out.strip())
    order = ["main.8d012bd0.css", "runtime.d7eddd59.js", "405.4b83239f.js", "main.4d5be395.js"]
    assert [e.get("href") or e.get("src") for e in elements] == [manifest.url(n) for n in order]
    assert [e["tag"] for e in elements] == ["link", "script", "script", "script"]
    for element, name in zip(elements, order, strict=True):
        assert element["integrity"] == manifest.integrity(name)
        assert element["crossorigin"] == "anonymous"
        assert ("defer" in element) == name.endswith(".js")
        assert "type" not in element


# -- a bundle built for another base --------------------------------------------------------------


def rooted_vite(root: Path) -> Path:
    """The Vite fixture as ``base: "/"`` builds it: root-relative URLs to its assets."""
    copy_output("vite", root)
    css = root / "assets" / "main-CfYyqprX.css"
    css.write_text(css.read_text().replace("url(./", "url(/assets/"))
    return root


def test_root_relative_references_to_another_base_are_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rooted_vite(tmp_path / "src")

    publish_dir(tmp_path, [tmp_path / "src"])

    err = capsys.readouterr().err
    assert (
        "warning: assets/main-CfYyqprX.css: refers to /assets/fixture-Q1uWclxH.woff2, but it is "
        f"published at {CDN}assets/fixture-Q1uWclxH"
    ) in err
    assert "(and 1 more like it)" in err
    assert "base: './'" in err


def test_root_relative_references_to_another_base_fail_with_strict(tmp_path: Path) -> None:
    rooted_vite(tmp_path / "src")

    settings = Settings(sources=(tmp_path / "src",), base_url=CDN, strict=True)
    with pytest.raises(SourceError, match="built for another base URL") as caught:
        build(settings)

    assert "/assets/fixture-Q1uWclxH.woff2" in str(caught.value)


def test_references_to_where_the_files_are_published_are_fine(tmp_path: Path) -> None:
    rooted_vite(tmp_path / "src")
    # Published at the root of the site, which is where base: "/" puts them.
    settings = Settings(sources=(tmp_path / "src",), base_url="/", strict=True)

    assert build(settings).warnings == ()


def test_relative_bundles_have_no_base_warning(tmp_path: Path) -> None:
    copy_output("vite", tmp_path / "vite")
    copy_output("webpack", tmp_path / "webpack")

    built = build(Settings(sources=(tmp_path,), base_url=CDN))

    assert built.warnings == ()


def test_webpack_public_path_from_its_manifest(tmp_path: Path) -> None:
    root = copy_output("webpack", tmp_path / "src")
    (root / "assets-manifest.json").unlink()
    manifest = root / "manifest.json"
    data: Mapping[str, str] = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({k: "/bundles/" + v for k, v in data.items()}))

    built = build(Settings(sources=(root,), base_url=CDN))

    assert built.warnings[0] == (
        f"{manifest}: refers to /bundles/191.74ddee10.js, but it is published at "
        f"{CDN}191.74ddee10.js (and 18 more like it)"
    )


# -- Flask and Django ---------------------------------------------------------------------------


def module_integrity(manifest: Manifest, *names: str) -> dict[str, str]:
    """What an import map's integrity section holds: the names, and every module of the
    entries (Vite's main and admin entries, their shared chunk and the import() chunks)."""
    modules = [n for n in manifest if "/assets/" in n and n.endswith(".js")]
    assert len(modules) == 6
    return {manifest.url(n): manifest.integrity(n) for n in (*names, *modules)}


@pytest.mark.flask
def test_flask_entry_tags_and_import_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import Flask, render_template_string

    from hashstore.flask import HashStore, entry_tags, import_map
    from tests.test_flask import flask_cli

    root = tmp_path / "site"
    copy_output("vite", root / "static" / "dist")
    make_tree(root / "static", {"vendor/lit/index.js": "export const html = 1;\n"})
    app = Flask("site", root_path=str(root), instance_path=str(root / "instance"))
    app.config.update(
        HASHSTORE_TARGET=str(tmp_path / "cdn"),
        HASHSTORE_BASE_URL=CDN,
        HASHSTORE_IMPORT_MAP={"lit": "vendor/lit/index.js"},
    )
    HashStore(app)
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)  # FlaskGroup sets it
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(Path(app.instance_path, "hashstore.json"))

    with app.test_request_context():
        html = render_template_string('{{ entry_tags("src/main.js") }}')
        assert html == str(entry_tags("src/main.js"))
        assert attributes(html) == expected_vite_main(manifest, prefix="dist/")
        page = render_template_string("{{ import_map() }}")
        assert page == str(import_map())

    lit = manifest.url("vendor/lit/index.js")
    body = page.removeprefix('<script type="importmap">').removesuffix("</script>")
    assert json.loads(body) == {
        "imports": {"lit": lit},
        "integrity": module_integrity(manifest, "vendor/lit/index.js"),
    }


@pytest.mark.django
def test_django_entry_tags_and_import_map(tmp_path: Path) -> None:
    from tests.django_support import collectstatic, setup_django, site, storages

    setup_django()
    from django.template import engines

    # collectstatic leaves out hidden folders: Vite's manifest at the output's top, as
    # build.manifest: "manifest.json" writes it.
    front = copy_output("vite", tmp_path / "front")
    (front / ".vite" / "manifest.json").rename(front / "manifest.json")
    make_tree(tmp_path / "vendor", {"lit/index.js": "export const html = 1;\n"})
    options = {
        "target": str(tmp_path / "cdn"),
        "base_url": CDN,
        "import_map": {"lit": "vendor/lit/index.js"},
    }
    dirs = [("front", str(front)), ("vendor", str(tmp_path / "vendor"))]
    with site(tmp_path / "static", STORAGES=storages(**options), STATICFILES_DIRS=dirs):
        collectstatic()
        manifest = Manifest.load(tmp_path / "static" / "hashstore.json")
        template = engines["django"].from_string(
            '{% load hashstore %}{% entry_tags "src/main.js" %}\n{% import_map %}'
        )
        html = template.render({})

    tags, _, page = html.partition('\n<script type="importmap">')
    assert attributes(tags) == expected_vite_main(manifest, prefix="front/")
    lit = manifest.url("vendor/lit/index.js")
    assert json.loads(page.removesuffix("</script>")) == {
        "imports": {"lit": lit},
        "integrity": module_integrity(manifest, "vendor/lit/index.js"),
    }


# -- the import_map setting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"./x.js": "x.js"}, "is not a bare specifier"),
        ({"https://x.test/a.js": "x.js"}, "is not a bare specifier"),
        ({"lit/": "vendor/lit/"}, "maps a prefix"),
        ({"lit": ""}, "a mapping of bare specifier -> logical name"),
        (["lit"], "a mapping"),
    ],
)
def test_import_map_setting_is_validated(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        Settings.from_mapping({"import_map": value}, describe=lambda n: f"HASHSTORE_{n.upper()}")

    assert str(caught.value).startswith("HASHSTORE_IMPORT_MAP")


def test_import_map_setting_from_json_text() -> None:
    settings = Settings.from_mapping({"import_map": '{"lit": "vendor/lit/index.js"}'})

    assert dict(settings.import_map) == {"lit": "vendor/lit/index.js"}


# -- development: no manifest yet ---------------------------------------------------------------


@pytest.mark.flask
def test_flask_debug_without_a_manifest_reads_the_bundler_manifest(tmp_path: Path) -> None:
    from flask import Flask, render_template_string

    from hashstore.flask import HashStore

    root = tmp_path / "site"
    copy_output("vite", root / "static" / "dist")
    app = Flask("site", root_path=str(root), instance_path=str(root / "instance"))
    HashStore(app)
    app.debug = True

    with app.test_request_context():
        html = render_template_string('{{ entry_tags("src/main.js") }}')
        with pytest.raises(UnknownAssetError, match="build the front end"):
            render_template_string('{{ entry_tags("src/nope.js") }}')

    assert attributes(html) == [
        {"tag": "link", "rel": "stylesheet", "href": "/static/dist/assets/main-CfYyqprX.css"},
        {"tag": "link", "rel": "modulepreload", "href": "/static/dist/assets/format-CC8VPYeM.js"},
        {"tag": "script", "type": "module", "src": "/static/dist/assets/main-Dm7XGA0i.js"},
    ]
    app.debug = False
    with app.test_request_context(), pytest.raises(ManifestError, match="does not exist"):
        render_template_string('{{ entry_tags("src/main.js") }}')


@pytest.mark.django
def test_django_debug_without_a_manifest_reads_the_bundler_manifest(tmp_path: Path) -> None:
    from tests.django_support import setup_django, site, storages

    setup_django()
    from django.template import engines

    front = copy_output("vite", tmp_path / "front")
    (front / ".vite" / "manifest.json").rename(front / "manifest.json")
    options = {"target": str(tmp_path / "cdn"), "base_url": CDN}
    source = '{% load hashstore %}{% entry_tags "src/admin.js" %}'
    dirs = [("front", str(front))]
    with site(tmp_path / "static", STORAGES=storages(**options), STATICFILES_DIRS=dirs, DEBUG=True):
        html = engines["django"].from_string(source).render({})
    published = site(tmp_path / "static", STORAGES=storages(**options), STATICFILES_DIRS=dirs)
    with published, pytest.raises(ManifestError, match="collectstatic"):
        engines["django"].from_string(source).render({})

    assert attributes(html) == [
        {"tag": "link", "rel": "modulepreload", "href": "/static/front/assets/format-CC8VPYeM.js"},
        {"tag": "script", "type": "module", "src": "/static/front/assets/admin-Dw5Bt5da.js"},
    ]


# -- S3: bundler output keeps the request bounds -------------------------------------------------


def test_s3_request_bounds_hold_with_bundler_output(
    tmp_path: Path, s3_bucket: S3Bucket, s3_proxy: S3Proxy
) -> None:
    copy_output("vite", tmp_path / "src" / "vite")
    copy_output("webpack", tmp_path / "src" / "webpack")
    make_tree(tmp_path / "src", {"css/app.css": "a { background: url(../img/a.png) }"})
    make_tree(tmp_path / "src", {"img/a.png": b"\x89PNG a"})
    settings = s3_bucket.settings(
        sources=(tmp_path / "src",),
        endpoint_url=s3_proxy.url,
        manifest=tmp_path / "hashstore.json",
        base_url=CDN,
    )

    cold = publish(settings)
    n = len(cold.build.files)
    assert len(cold.uploaded) == n
    assert s3_proxy.total <= n + math.ceil(n / 1000) + 3, s3_proxy.operations
    assert len(cold.build.kept) > 20  # Vite's and webpack's files, under their own names

    s3_proxy.reset()
    warm = publish(settings)
    assert warm.uploaded == ()
    k = len(s3_bucket.keys())
    assert s3_proxy.total <= math.ceil(k / 1000) + 2, s3_proxy.operations
    assert Manifest.load(tmp_path / "hashstore.json").entries == cold.manifest.entries
