"""The Django adapter in-process: collectstatic, pages, url(), tags, Jinja2, options.

Django is configured once per process with the example project (see ``django_support``);
each test points ``STATIC_ROOT`` and ``STORAGES`` at its own folders and bucket.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hashstore.errors import ConfigError, ManifestError, UnknownAssetError
from hashstore.manifest import Manifest

from .conftest import S3Bucket
from .django_support import (
    CDN,
    EXAMPLE_NAMES,
    asset_tags,
    asset_url_of,
    collectstatic,
    key_of,
    setup_django,
    sha256,
    site,
    storages,
)
from .s3proxy import S3Proxy

setup_django()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import storages as django_storages  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client  # noqa: E402

from hashstore.django import HashStoreStorage, asset_tag, asset_url  # noqa: E402

N = len(EXAMPLE_NAMES)


def current_storage() -> HashStoreStorage:
    storage = django_storages["staticfiles"]
    assert isinstance(storage, HashStoreStorage)
    return storage


@dataclass
class Published:
    """Where a test's collectstatic publishes, and how to read what it stored."""

    options: dict[str, Any]
    base_url: str
    read: Callable[[str], bytes]
    keys: Callable[[], list[str]]


@pytest.fixture(params=["local", "s3"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Published:
    if request.param == "local":
        root = tmp_path / "public"
        return Published(
            {"target": str(root), "base_url": "/assets/"},
            "/assets/",
            lambda key: (root / key).read_bytes(),
            lambda: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()),
        )
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return Published(
        {
            "bucket": bucket.name,
            "prefix": bucket.prefix,
            "endpoint_url": bucket.endpoint_url,
            "base_url": CDN,
            "jobs": 8,
        },
        CDN,
        bucket.get,
        bucket.keys,
    )


def test_collectstatic_publishes_and_pages_point_at_the_published_bytes(
    target: Published, tmp_path: Path
) -> None:
    static_root = tmp_path / "static"
    with site(static_root, STORAGES=storages(**target.options)):
        output = collectstatic()
        client = Client()
        pages = [client.get("/"), client.get("/shop/")]

    manifest = Manifest.load(static_root / "hashstore.json")
    assert sorted(manifest) == sorted(EXAMPLE_NAMES)
    assert manifest.base_url == target.base_url
    stored = set(target.keys())
    seen = set()
    for page in pages:
        assert page.status_code == 200
        tags = asset_tags(page.content.decode())
        assert len(tags) >= 6
        for tag in tags:
            url = asset_url_of(tag)
            if not url.startswith(target.base_url):
                assert url in ("/", "/shop/"), url  # the navigation links
                continue
            key = key_of(url, target.base_url)
            name = next(n for n, e in manifest.items() if e.key == key)
            body = target.read(key)
            assert key in stored
            assert sha256(body) == manifest[name].sha256
            if "integrity" in tag.attrs:
                digest = base64.b64encode(bytes.fromhex(sha256(body))).decode()
                assert tag.attrs["integrity"] == f"sha256-{digest}"
                assert tag.attrs["crossorigin"] == "anonymous"
            seen.add(name)
    # Every stylesheet, script, image and preloaded font the templates name.
    assert seen >= {
        "site/css/site.css",
        "site/js/site.js",
        "site/img/favicon.svg",
        "blog/css/blog.css",
        "blog/js/blog.js",
        "blog/img/header.png",
        "shop/css/shop.css",
        "shop/js/cart.mjs",
        "shop/img/cart.svg",
        "shop/fonts/price.woff2",
    }
    # Stylesheets point at the hashed names of their images, fonts and imports.
    blog_css = target.read(manifest["blog/css/blog.css"].key).decode()
    assert manifest["blog/img/header.png"].key.split("/")[-1] in blog_css
    assert manifest["site/css/typography.css"].key.split("/")[-1] in blog_css
    site_css = target.read(manifest["site/css/site.css"].key).decode()
    assert manifest["site/fonts/inter.woff2"].key.split("/")[-1] in site_css
    # The release record went up with the objects, and the collected files stay local.
    assert f".hashstore/releases/{manifest.release}.json" in stored
    assert (static_root / "blog/css/blog.css").is_file()
    assert output.lines(f"hashstore: uploaded {N} new file(s)")


def test_module_scripts_and_extra_attributes_in_the_example_pages(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": "/assets/"}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        collectstatic(verbosity=0)
        html = Client().get("/shop/").content.decode()
    modules = [t for t in asset_tags(html) if t.attrs.get("type") == "module"]
    (module,) = [t for t in modules if "data-currency" in t.attrs]
    # The other is the Vite front end's entry, from {% entry_tags "src/main.js" %}.
    assert [t.attrs["src"] for t in modules if t is not module] == [
        "/assets/frontend/assets/main-6SeIhNJK.js"
    ]
    assert module.name == "script"
    assert module.attrs["data-currency"] == "EUR"
    assert '<script type="module" src="/assets/shop/js/cart.' in html


def test_dry_run_plans_from_the_sources_and_uploads_nothing(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    options = {
        "bucket": s3_bucket.name,
        "prefix": s3_bucket.prefix,
        "endpoint_url": s3_bucket.endpoint_url,
        "base_url": CDN,
    }
    static_root = tmp_path / "static"
    with site(static_root, STORAGES=storages(**options)):
        output = collectstatic(dry_run=True, verbosity=2)
    assert s3_bucket.keys() == []
    assert not static_root.exists()
    assert output.lines(f"hashstore: would upload {N} new file(s)")
    assert len(output.lines("Would upload '")) == N


def test_clear_empties_static_root_but_never_the_bucket_or_the_manifest(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    options = {
        "bucket": s3_bucket.name,
        "prefix": s3_bucket.prefix,
        "endpoint_url": s3_proxy.url,
        "base_url": CDN,
        "retries": 1,
    }
    static_root = tmp_path / "static"
    stray = static_root / "old" / "gone.css"
    with site(static_root, STORAGES=storages(**options)):
        collectstatic(verbosity=0)
        keys = s3_bucket.keys()
        manifest = (static_root / "hashstore.json").read_bytes()
        stray.parent.mkdir()
        stray.write_text("body {}")
        s3_proxy.reset()
        # A publish that fails after the clear must leave the previous manifest in place.
        s3_proxy.inject(500, "InternalError", operation="ListObjectsV2", times=None)
        with pytest.raises(CommandError):
            collectstatic(clear=True, verbosity=0)
        assert (static_root / "hashstore.json").read_bytes() == manifest
        s3_proxy.reset()
        collectstatic(clear=True, verbosity=0)
    assert not stray.exists()
    assert s3_bucket.keys() == keys
    assert not [r for r in s3_proxy.requests if r.method in ("DELETE", "POST")]
    assert (static_root / "hashstore.json").read_bytes() == manifest


@pytest.mark.parametrize(
    ("verbosity", "summary", "per_file"), [(0, 0, 0), (1, 1, 0), (2, 1, N), (3, 1, N)]
)
def test_verbosity(tmp_path: Path, verbosity: int, summary: int, per_file: int) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": "/assets/"}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        output = collectstatic(verbosity=verbosity)
    lines = output.lines("hashstore: ")
    assert len([line for line in lines if "new file(s)" in line]) == summary
    if summary:
        assert output.lines(f"hashstore: uploaded {N} new file(s) (")
        assert f"0 already present, {N} in release" in lines[0]
    uploads = output.lines("Uploaded '")
    assert len(uploads) == per_file
    if per_file:
        assert any(
            line.startswith("Uploaded 'blog/css/blog.css' as 'blog/css/blog.") for line in uploads
        )


def test_a_second_collectstatic_uploads_nothing(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": "/assets/"}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        collectstatic(verbosity=0)
        output = collectstatic(verbosity=1)
    assert output.lines(f"hashstore: uploaded 0 new file(s) (0 B), {N} already present")


def test_prehashed_option_keeps_names(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "prehashed": ["site/fonts/*"]}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        collectstatic(verbosity=0)
    manifest = Manifest.load(tmp_path / "static" / "hashstore.json")
    kept = sorted(name for name, entry in manifest.items() if entry.key == name)
    bundled = sorted(n for n in EXAMPLE_NAMES if n.startswith("frontend/assets/"))
    assert kept == [*bundled, "site/fonts/inter.woff", "site/fonts/inter.woff2"]
    assert (tmp_path / "public/site/fonts/inter.woff2").is_file()


def test_local_target_inside_static_root_for_whitenoise(tmp_path: Path) -> None:
    static_root = tmp_path / "static"
    # whitenoise serves STATIC_ROOT at STATIC_URL: publish the hashed files beside the
    # collected ones, as Django's manifest storage does.
    with site(static_root, STORAGES=storages(target=str(static_root))):
        collectstatic(verbosity=0)
        again = collectstatic(verbosity=1)
        url = current_storage().url("site/css/site.css")
    manifest = Manifest.load(static_root / "hashstore.json")
    assert sorted(manifest) == sorted(EXAMPLE_NAMES)  # hashed copies are not published again
    assert again.lines(f"hashstore: uploaded 0 new file(s) (0 B), {N} already present")
    assert url == "/static/" + manifest["site/css/site.css"].key
    assert (static_root / manifest["site/css/site.css"].key).is_file()


def test_a_failed_publish_raises_the_core_error_and_writes_no_manifest(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    s3_proxy.inject(403, "AccessDenied", "Access Denied", operation="PutObject", times=None)
    options = {
        "bucket": s3_bucket.name,
        "prefix": s3_bucket.prefix,
        "endpoint_url": s3_proxy.url,
        "base_url": CDN,
        "retries": 1,
    }
    static_root = tmp_path / "static"
    with site(static_root, STORAGES=storages(**options)), pytest.raises(CommandError) as caught:
        collectstatic(verbosity=0)
    message = str(caught.value)
    assert f"{N} object(s) could not be published" in message
    # The pending marker failed for the same reason: named once, on the same line.
    assert message.count(".hashstore/pending/") == 1
    assert message.lower().count("access denied") == 1
    assert "PutObject" in message
    assert "access denied" in message.lower()
    assert not (static_root / "hashstore.json").exists()
    assert not [key for key in s3_bucket.keys() if key.startswith(".hashstore/")]  # noqa: SIM118


def test_an_empty_build_stops_collectstatic_and_the_live_manifest_stays(tmp_path: Path) -> None:
    """collectstatic finds no file (the apps and folders that had them are gone, as after a
    front-end build that left nothing, on a fresh build machine): the error names
    ``OPTIONS["allow_empty"]``, nothing is published, the previous manifest stays."""
    public, manifest_path = tmp_path / "public", tmp_path / "hashstore.json"
    options = {"target": str(public), "base_url": CDN, "manifest": str(manifest_path)}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        collectstatic(verbosity=0)
    manifest = manifest_path.read_bytes()
    published = sorted(p.relative_to(public) for p in public.rglob("*"))
    nothing = {
        "INSTALLED_APPS": ["hashstore.django", "django.contrib.staticfiles"],
        "STATICFILES_DIRS": [],
    }
    with (
        site(tmp_path / "fresh", STORAGES=storages(**options), **nothing),
        pytest.raises(CommandError) as caught,
    ):
        collectstatic(verbosity=0)
    message = str(caught.value)
    assert message.startswith("hashstore: the build has no files: ")
    assert 'set OPTIONS["allow_empty"] = True to publish an empty release on purpose' in message
    assert manifest_path.read_bytes() == manifest
    assert sorted(p.relative_to(public) for p in public.rglob("*")) == published


def test_request_counts_of_a_cold_and_a_warm_collectstatic(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    options = {
        "bucket": s3_bucket.name,
        "prefix": s3_bucket.prefix,
        "endpoint_url": s3_proxy.url,
        "base_url": CDN,
    }
    n = len(EXAMPLE_NAMES)
    with site(tmp_path / "static", STORAGES=storages(**options)):
        collectstatic(verbosity=0)
        cold = s3_proxy.total
        keys = len(s3_bucket.keys())
        s3_proxy.reset()
        collectstatic(verbosity=0)
        warm = s3_proxy.total
    assert cold <= n + math.ceil(n / 1000) + 3, s3_proxy.operations
    assert warm <= math.ceil(keys / 1000) + 2


# url(): one lookup, the manifest read once; DEBUG fallback; unknown names.


def _publish_example(tmp_path: Path, **options: Any) -> dict[str, Any]:
    values = {"target": str(tmp_path / "public"), "base_url": CDN, **options}
    with site(tmp_path / "static", STORAGES=storages(**values)):
        collectstatic(verbosity=0)
    return values


def test_url_is_base_url_plus_key_and_the_manifest_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = _publish_example(tmp_path)
    manifest = Manifest.load(tmp_path / "static" / "hashstore.json")
    loads = []
    real_load = Manifest.load

    def counting_load(*args: Any, **kwargs: Any) -> Manifest:
        loads.append(args)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(Manifest, "load", counting_load)
    with site(tmp_path / "static", STORAGES=storages(**options)):
        storage = current_storage()
        for name in EXAMPLE_NAMES:
            assert storage.url(name) == CDN + manifest[name].key
        assert asset_url("site/css/site.css") == CDN + manifest["site/css/site.css"].key
        template = engines["django"].from_string('{% load static %}{% static "blog/js/blog.js" %}')
        assert template.render() == CDN + manifest["blog/js/blog.js"].key
        assert storage.integrity("blog/js/blog.js") == manifest["blog/js/blog.js"].integrity
    assert len(loads) == 1


def test_unknown_name_names_the_file_the_manifest_and_close_matches(tmp_path: Path) -> None:
    options = _publish_example(tmp_path)
    for debug in (False, True):
        with (
            site(tmp_path / "static", debug=debug, STORAGES=storages(**options)),
            pytest.raises(UnknownAssetError) as caught,
        ):
            current_storage().url("blog/css/blgo.css")
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "'blog/css/blgo.css'" in message
    assert str(tmp_path / "static" / "hashstore.json") in message
    assert "'blog/css/blog.css'" in message


def test_debug_without_a_manifest_falls_back_to_static_url(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with site(tmp_path / "static", debug=True, STORAGES=storages(**options)):
        storage = current_storage()
        assert storage.url("css/new file.css") == "/static/css/new%20file.css"
        assert storage.integrity("css/app.css") is None
        assert str(asset_tag("js/app.js")) == '<script src="/static/js/app.js"></script>'
        html = Client().get("/").content.decode()
    assert 'href="/static/site/css/site.css"' in html
    with (
        site(tmp_path / "static", debug=False, STORAGES=storages(**options)),
        pytest.raises(ManifestError, match=r"does not exist.*collectstatic"),
    ):
        current_storage().url("css/app.css")


# Tags: {% load hashstore %} and the Python helpers.


@pytest.fixture
def tags_site(tmp_path: Path) -> Iterator[Manifest]:
    """A manifest with a stylesheet, scripts and a key that needs escaping."""
    files = {}
    for name, key in [
        ("css/app.css", "css/app.0123456789ab.css"),
        ("js/app.js", "js/app.0123456789ab.js"),
        ("js/app.mjs", "js/app.0123456789ab.mjs"),
        ("img/a&b.png", "img/a&b.0123456789ab.png"),
    ]:
        files[name] = {
            "key": key,
            "sha256": "ab" * 32,
            "size": 1,
            "integrity": "sha256-" + base64.b64encode(bytes.fromhex("ab" * 32)).decode(),
        }
    (tmp_path / "static").mkdir()
    document = {"hashstore": 1, "release": "r1", "base_url": CDN, "files": files}
    (tmp_path / "static" / "hashstore.json").write_text(json.dumps(document))
    with site(tmp_path / "static", STORAGES=storages(target=str(tmp_path / "t"), base_url=CDN)):
        yield Manifest.load(tmp_path / "static" / "hashstore.json")


def render(source: str, **context: Any) -> str:
    return engines["django"].from_string("{% load hashstore %}" + source).render(context)


def test_asset_tag_link_script_and_module(tags_site: Manifest) -> None:
    integrity = tags_site.integrity("css/app.css")
    assert render('{% asset_tag "css/app.css" %}') == (
        f'<link rel="stylesheet" href="{CDN}css/app.0123456789ab.css" '
        f'integrity="{integrity}" crossorigin="anonymous">'
    )
    assert render('{% asset_tag "js/app.js" %}') == (
        f'<script src="{CDN}js/app.0123456789ab.js" integrity="{integrity}" '
        'crossorigin="anonymous"></script>'
    )
    assert render('{% asset_tag "js/app.mjs" %}') == (
        f'<script type="module" src="{CDN}js/app.0123456789ab.mjs" integrity="{integrity}" '
        'crossorigin="anonymous"></script>'
    )


def test_asset_tag_extra_attributes_are_escaped(tags_site: Manifest) -> None:
    html = render(
        '{% asset_tag "js/app.js" defer=True async=False id="main" data_app=label %}',
        label='x" onload="alert(1)',
    )
    assert html.endswith(' defer id="main" data-app="x&quot; onload=&quot;alert(1)"></script>')
    assert "async" not in html
    html = render('{% asset_tag "css/app.css" media="print" crossorigin="use-credentials" %}')
    assert 'media="print"' in html
    assert 'crossorigin="use-credentials"' in html
    assert "anonymous" not in html


def test_asset_url_and_integrity_tags_and_python_helpers(tags_site: Manifest) -> None:
    assert render('{% asset_url "img/a&b.png" %}') == f"{CDN}img/a&amp;b.0123456789ab.png"
    assert render('{% asset_integrity "css/app.css" %}') == tags_site.integrity("css/app.css")
    assert asset_url("img/a&b.png") == f"{CDN}img/a&b.0123456789ab.png"
    assert str(asset_tag("js/app.js", defer=True)).endswith(" defer></script>")
    assert render('{% asset_url "css/app.css" as href %}[{{ href }}]') == (
        f"[{CDN}css/app.0123456789ab.css]"
    )


def test_static_urls_are_escaped_exactly_once(tags_site: Manifest) -> None:
    source = '{% load static %}{% static "img/a&b.png" %} {% static "css/app.css" %}'
    assert engines["django"].from_string(source).render() == (
        f"{CDN}img/a&amp;b.0123456789ab.png {CDN}css/app.0123456789ab.css"
    )
    # Python callers get the plain URL, usable in JSON.
    assert json.loads(json.dumps([asset_url("img/a&b.png")])) == [f"{CDN}img/a&b.0123456789ab.png"]


def test_asset_tag_refuses_other_files_and_unknown_names(tags_site: Manifest) -> None:
    with pytest.raises(ValueError, match=r"\.css, \.js and \.mjs.*asset_url"):
        render('{% asset_tag "img/a&b.png" %}')
    with pytest.raises(UnknownAssetError, match=r"'css/ap\.css' is not in manifest"):
        render('{% asset_tag "css/ap.css" %}')


def test_jinja2_environment(tags_site: Manifest, tmp_path: Path) -> None:
    from django.template.backends.jinja2 import Jinja2

    engine = Jinja2(
        {
            "NAME": "jinja2",
            "DIRS": [str(tmp_path)],
            "APP_DIRS": False,
            "OPTIONS": {"environment": "hashstore.django.jinja2.environment"},
        }
    )
    template = engine.from_string(
        '{{ asset_tag("js/app.mjs", defer=True) }}|{{ static("css/app.css") }}|'
        '{{ asset_url("img/a&b.png") }}|{{ asset_integrity("css/app.css") }}'
    )
    tag, static, url, integrity = template.render().split("|")
    assert tag.startswith(f'<script type="module" src="{CDN}js/app.0123456789ab.mjs"')
    assert tag.endswith(" defer></script>")
    assert static == f"{CDN}css/app.0123456789ab.css"
    assert url == f"{CDN}img/a&amp;b.0123456789ab.png"
    assert integrity == tags_site.integrity("css/app.css")


# Options: one Settings from OPTIONS (or HASHSTORE), named as the user wrote them.


def test_options_map_onto_settings_with_django_defaults(tmp_path: Path) -> None:
    options = {"bucket": "assets", "prefix": "/site/static/", "jobs": "4", "strict": "true"}
    with site(tmp_path / "static", STORAGES=storages(**options), STATIC_URL="/s/"):
        s = current_storage().hashstore_settings
    assert s.target == "s3://assets/site/static/"
    assert s.jobs == 4
    assert s.strict is True
    assert s.sources == (tmp_path / "static",)
    assert s.manifest == tmp_path / "static" / "hashstore.json"
    assert s.base_url == "/s/"
    assert s.static_url_path == "/s/"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"jobs": 0}, 'OPTIONS["jobs"] = 0 is invalid'),
        ({"target": "s3://x", "bukcet": "y"}, 'unknown option(s) OPTIONS["bukcet"]'),
        ({"prefix": "static"}, 'OPTIONS["prefix"] is set without OPTIONS["bucket"]'),
        ({"bucket": "a", "target": "s3://b/"}, 'OPTIONS["bucket"] and OPTIONS["target"]'),
        ({"bucket": "A_B"}, "OPTIONS[\"bucket\"] = 's3://A_B/' is invalid"),
        ({"sources": ["x"]}, 'OPTIONS["sources"] is not an option in Django'),
    ],
)
def test_invalid_options_name_the_option(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with (
        site(tmp_path / "static", STORAGES=storages(**options)),
        pytest.raises(ConfigError) as caught,
    ):
        current_storage()
    assert message in str(caught.value)


def test_the_hashstore_setting_configures_a_storage_without_options(tmp_path: Path) -> None:
    plain = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "hashstore.django.HashStoreStorage"},
    }
    with site(tmp_path / "static", STORAGES=plain, HASHSTORE={"bucket": "assets", "jobs": 3}):
        storage = current_storage()
        assert storage.hashstore_settings.target == "s3://assets/"
        assert storage.hashstore_setting == "HASHSTORE"
    with (
        site(tmp_path / "static", STORAGES=plain, HASHSTORE={"jobs": "many"}),
        pytest.raises(ConfigError, match=r'HASHSTORE\["jobs"\]'),
    ):
        current_storage()
    with (
        site(tmp_path / "static", STORAGES=storages(jobs=2), HASHSTORE={"jobs": 3}),
        pytest.raises(ConfigError, match="keep one"),
    ):
        current_storage()


def test_storage_stays_local_for_django(tmp_path: Path) -> None:
    with site(tmp_path / "static", STORAGES=storages(bucket="assets")):
        storage = current_storage()
        assert storage.location == str(tmp_path / "static")
        storage.save("x/a.txt", ContentFile(b"a"))
        (tmp_path / "static" / "hashstore.json").write_text("{}")
        assert storage.listdir("") == (["x"], [])
        assert storage.exists("hashstore.json")
