"""The Flask extension, driven through its front doors: ``flask hashstore`` and the test client.

These publish to a local directory (fast); tests/test_flask_example.py publishes the example
app to S3.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import flask
import pytest
from click.testing import Result
from flask import Blueprint, Flask, render_template_string
from flask.cli import FlaskGroup, ScriptInfo
from markupsafe import Markup

import hashstore.flask
from hashstore.cli import main as hashstore_main
from hashstore.errors import ConfigError, ManifestError, UnknownAssetError
from hashstore.flask import HashStore, hashstore_command
from hashstore.manifest import Manifest
from hashstore.settings import Settings

from .helpers import make_tree, tree_bytes

CDN = "https://cdn.example.com/static/"
FILES: dict[str, str | bytes] = {
    "css/app.css": '@import "base.css";\n.logo { background: url(../img/logo.png); }\n',
    "css/base.css": "body { margin: 0; }\n",
    "img/logo.png": b"\x89PNG logo",
    "js/app.js": "console.log('app');\n",
}
ADMIN_FILES: dict[str, str | bytes] = {
    "admin.css": ".bar { background: url(img/shield.png); }\n",
    "img/shield.png": b"\x89PNG shield",
}


@pytest.fixture(autouse=True)
def _restore_flask_cli_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    # FlaskGroup sets FLASK_RUN_FROM_CLI in os.environ; put it back as it was.
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)


def script_info(create_app: Callable[[], Flask]) -> ScriptInfo:
    """What ``flask`` gives its commands, for the app ``create_app`` makes; no ``.env`` read.

    Flask 3.1 added ``load_dotenv_defaults`` (reading ``.env`` unless told not to); Flask 3.0
    reads it only in the FlaskGroup, which the tests make with ``load_dotenv=False``.
    """
    if "load_dotenv_defaults" in inspect.signature(ScriptInfo).parameters:
        return ScriptInfo(create_app=create_app, set_debug_flag=False, load_dotenv_defaults=False)
    return ScriptInfo(create_app=create_app, set_debug_flag=False)


def flask_cli(app: Flask, *args: str) -> Result:
    """``flask ARGS`` for ``app``, through FlaskGroup so the entry point's command is used."""
    info = script_info(lambda: app)
    return app.test_cli_runner().invoke(FlaskGroup(load_dotenv=False), list(args), obj=info)


def make_app(
    root: Path,
    *,
    config: Mapping[str, Any] | None = None,
    files: Mapping[str, str | bytes] = FILES,
    init: bool = True,
    **flask_options: Any,
) -> Flask:
    """An app rooted at ``root`` with ``files`` in its static folder, publishing to root/cdn."""
    make_tree(root / "static", files)
    app = Flask(
        root.name, root_path=str(root), instance_path=str(root / "instance"), **flask_options
    )
    app.config.update(HASHSTORE_TARGET=str(root / "cdn"), HASHSTORE_BASE_URL=CDN)
    app.config.update(config or {})
    if init:
        HashStore(app)
    return app


def admin_blueprint(root: Path, **options: Any) -> Blueprint:
    make_tree(root / "static", ADMIN_FILES)
    options.setdefault("url_prefix", "/admin")
    options.setdefault("static_url_path", "/static")
    return Blueprint("admin", "admin", root_path=str(root), static_folder="static", **options)


def publish(app: Flask, *args: str) -> Result:
    result = flask_cli(app, "hashstore", "publish", *args)
    assert result.exit_code == 0, result.output
    return result


def cdn_file(app: Flask, url: str) -> bytes:
    """The published bytes behind a URL under CDN (the target is a directory)."""
    assert url.startswith(CDN), url
    return Path(app.config["HASHSTORE_TARGET"], url.removeprefix(CDN)).read_bytes()


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path / "site")


# Configuration


def test_init_app_sets_every_key_and_keeps_state_per_app(app: Flask) -> None:
    for name in Settings.field_names():
        assert f"HASHSTORE_{name.upper()}" in app.config
    assert app.config["HASHSTORE_MANIFEST"] == os.path.join(app.instance_path, "hashstore.json")
    assert app.config["HASHSTORE_URL_FOR"] is False
    state = app.extensions["hashstore"]
    assert isinstance(state, hashstore.flask.HashStoreState)
    assert state.settings.base_url == CDN
    assert state.settings.static_url_path == "/static/"
    assert state.manifest is None
    assert not hasattr(HashStore(), "app")


def test_invalid_values_are_named_as_config_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"HASHSTORE_JOBS = 0 is invalid: a whole number"):
        make_app(tmp_path / "a", config={"HASHSTORE_JOBS": 0})
    with pytest.raises(ConfigError, match=r"unknown option\(s\) HASHSTORE_BASEURL"):
        make_app(tmp_path / "b", config={"HASHSTORE_BASEURL": CDN})
    with pytest.raises(ConfigError, match=r"HASHSTORE_URL_FOR = 'maybe' is invalid"):
        make_app(tmp_path / "c", config={"HASHSTORE_URL_FOR": "maybe"})


def test_flask_hashstore_reports_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    """``HashStore(app)`` refuses the config while the app factory runs: the command prints the
    error (each invalid key named as configured), exits 1 and writes nothing; with ``--json``
    the same error is a JSON object on stdout."""
    root = tmp_path / "site"
    bad = {"HASHSTORE_TARGET": "s3:/bucket/x", "HASHSTORE_REGION": "eu west 1"}
    info = script_info(lambda: make_app(root, config=bad))
    runner = Flask("runner").test_cli_runner()
    for json_flag in ([], ["--json"]):
        result = runner.invoke(
            FlaskGroup(load_dotenv=False), ["hashstore", "publish", *json_flag], obj=info
        )
        assert result.exit_code == 1
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: 2 settings are invalid:\n")
        assert result.stderr.count("error:") == 1
        assert "  HASHSTORE_TARGET = 's3:/bucket/x' is invalid: an S3 target is written" in (
            result.stderr
        )
        assert "  HASHSTORE_REGION = 'eu west 1' is invalid: a region name" in result.stderr
        if json_flag:
            error = json.loads(result.stdout)["error"]
            assert (error["type"], error["exit_code"]) == ("ConfigError", 1)
            assert result.stderr == f"error: {error['message']}\n"
        else:
            assert result.stdout == ""
    assert sorted(p.name for p in root.iterdir()) == ["static"]  # no cdn, no instance folder


def test_an_empty_static_folder_is_refused_and_the_live_manifest_stays(
    app: Flask, tmp_path: Path
) -> None:
    publish(app)
    manifest = Path(app.config["HASHSTORE_MANIFEST"]).read_bytes()
    published = tree_bytes(Path(app.config["HASHSTORE_TARGET"]))
    for path in (tmp_path / "site" / "static").rglob("*"):
        if path.is_file():
            path.unlink()  # the front-end build failed and left nothing
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the build has no files: ")
    assert "set HASHSTORE_ALLOW_EMPTY = True (or --allow-empty) to publish an empty release" in (
        result.stderr
    )
    assert result.stderr.count("\n") == 1
    assert Path(app.config["HASHSTORE_MANIFEST"]).read_bytes() == manifest
    assert tree_bytes(Path(app.config["HASHSTORE_TARGET"])) == published


def test_a_second_init_app_says_what_to_do(app: Flask) -> None:
    with pytest.raises(ConfigError, match="already initialized on the Flask app 'site'") as info:
        HashStore().init_app(app)
    assert "once per app" in str(info.value)


def test_an_app_without_the_extension_gets_a_clear_error(tmp_path: Path) -> None:
    app = make_app(tmp_path / "plain", init=False)
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: hashstore is not initialized on the Flask app 'plain'")
    assert "HashStore(app)" in result.stderr
    with app.app_context(), pytest.raises(ConfigError, match="not initialized"):
        hashstore.flask.asset_url("css/app.css")


def test_the_command_is_registered_as_a_flask_plugin() -> None:
    (entry,) = importlib.metadata.entry_points(group="flask.commands", name="hashstore")
    assert entry.load() is hashstore_command


# Publishing and rendering


def test_publish_then_render_gives_hashed_urls_of_the_published_bytes(app: Flask) -> None:
    result = publish(app)
    assert "uploaded 4 new file(s)" in result.stdout
    assert f"manifest written to {app.instance_path}/hashstore.json" in result.stdout

    @app.get("/")
    def index() -> str:
        return render_template_string(
            "{{ asset_tag('css/app.css') }}\n{{ asset_tag('js/app.js', defer=True) }}\n"
            "<img src=\"{{ asset_url('img/logo.png') }}\">"
        )

    html = app.test_client().get("/").text
    manifest = app.extensions["hashstore"].manifest
    for name in ("css/app.css", "js/app.js", "img/logo.png"):
        url = manifest.url(name)
        assert url in html
        assert hashlib.sha256(cdn_file(app, url)).hexdigest() == manifest[name].sha256
    css = manifest.integrity("css/app.css")
    link = f'<link rel="stylesheet" href="{manifest.url("css/app.css")}" integrity="{css}"'
    assert f'{link} crossorigin="anonymous">' in html
    assert f'integrity="{manifest.integrity("js/app.js")}" crossorigin="anonymous" defer>' in html
    # The stylesheet points at the hashed image, so the CDN can cache both forever.
    key = manifest["img/logo.png"].key.removeprefix("img/")
    assert f"url(../img/{key})".encode() in cdn_file(app, manifest.url("css/app.css"))


def test_python_helpers_match_the_template_globals(app: Flask) -> None:
    publish(app)
    with app.app_context():
        url = hashstore.flask.asset_url("css/app.css")
        assert url.startswith(f"{CDN}css/app.")
        assert url.endswith(".css")
        assert render_template_string("{{ asset_url('css/app.css') }}") == url
        integrity = hashstore.flask.asset_integrity("css/app.css")
        assert integrity.startswith("sha256-")
        tag = hashstore.flask.asset_tag("js/app.js", type="module", data_page="home")
        assert isinstance(tag, Markup)
        assert str(tag) == render_template_string(
            "{{ asset_tag('js/app.js', type='module', data_page='home') }}"
        )
        assert ' type="module"' in tag
        assert ' data-page="home"' in tag
        with pytest.raises(UnknownAssetError, match=r"'css/ap\.css' is not in manifest"):
            hashstore.flask.asset_url("css/ap.css")
        with pytest.raises(ValueError, match="use asset_url"):
            hashstore.flask.asset_tag("img/logo.png")


def test_json_output_is_the_hashstore_commands(
    app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = json.loads(publish(app, "--json").stdout)
    static = os.path.join(app.root_path, "static")
    code = hashstore_main(
        ["publish", static, "--to", str(tmp_path / "cli"), "--manifest", str(tmp_path / "m.json"),
         "--base-url", CDN, "--json"]
    )  # fmt: skip
    assert code == 0
    theirs = json.loads(capsys.readouterr().out)
    assert ours.keys() == theirs.keys()
    for key in ("target", "manifest", "seconds"):
        assert type(ours.pop(key)) is type(theirs.pop(key))
    assert ours == theirs


def test_options_override_the_config_and_bad_flags_exit_2(app: Flask, tmp_path: Path) -> None:
    result = publish(app, "--to", str(tmp_path / "other"), "--dry-run")
    assert result.stdout.startswith("would upload 4 new file(s)")
    assert not Path(app.config["HASHSTORE_MANIFEST"]).exists()
    result = flask_cli(app, "hashstore", "publish", "--jobs", "0")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "flask hashstore publish: error: --jobs = 0 is invalid: a whole number from 1 to 512\n"
    )
    result = flask_cli(app, "hashstore", "publish", "--no-such-flag")
    assert result.exit_code == 2
    assert "flask hashstore publish: error: unrecognized arguments: --no-such-flag" in result.stderr


def test_help_and_url_are_the_hashstore_commands(app: Flask) -> None:
    result = flask_cli(app, "hashstore", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("usage: flask hashstore [-h] [--version] COMMAND")
    publish(app)
    result = flask_cli(app, "hashstore", "url", "css/app.css", "--integrity")
    manifest = app.extensions["hashstore"].manifest
    assert result.stdout == f"{manifest.url('css/app.css')}\n{manifest.integrity('css/app.css')}\n"
    result = flask_cli(app, "hashstore", "url", "css/nope.css")
    assert result.exit_code == 1
    assert "'css/nope.css' is not in manifest" in result.stderr


def test_extra_sources_are_relative_to_the_app(tmp_path: Path) -> None:
    root = tmp_path / "site"
    make_tree(root / "assets" / "dist", {"bundle.js": "console.log(1);\n"})
    app = make_app(root, config={"HASHSTORE_SOURCES": [("dist", "assets/dist")]})
    publish(app)
    with app.app_context():
        assert hashstore.flask.asset_url("dist/bundle.js").startswith(f"{CDN}dist/bundle.")


def test_the_manifest_is_read_once_outside_debug(app: Flask, tmp_path: Path) -> None:
    publish(app)
    state = app.extensions["hashstore"]
    before = state.manifest.url("css/app.css")
    # Another process publishes new bytes: this app keeps its manifest until restarted.
    shared = {"HASHSTORE_MANIFEST": app.config["HASHSTORE_MANIFEST"]}
    files = {**FILES, "css/app.css": "body { color: red }"}
    publish(make_app(tmp_path / "site2", files=files, config=shared))
    refreshes = count_refreshes(app)
    with app.test_request_context():
        app.preprocess_request()
        assert hashstore.flask.asset_url("css/app.css") == before
    assert refreshes == []
    # A new process (or app) reads the new one.
    with make_app(tmp_path / "site3", config=shared).app_context():
        assert hashstore.flask.asset_url("css/app.css") != before


def count_refreshes(app: Flask) -> list[bool]:
    state = app.extensions["hashstore"]
    calls: list[bool] = []
    refresh = state.refresh

    def counting() -> bool:
        changed = refresh()
        calls.append(changed)
        return changed

    state.refresh = counting
    return calls


# Debug


def test_debug_without_a_manifest_uses_flasks_static_files(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site", config={"HASHSTORE_URL_FOR": True})
    app.register_blueprint(admin_blueprint(tmp_path / "admin"))
    app.debug = True
    client = app.test_client()
    with app.test_request_context():
        assert hashstore.flask.asset_url("css/app.css") == "/static/css/app.css"
        assert hashstore.flask.asset_url("admin/static/admin.css") == "/admin/static/admin.css"
        assert flask.url_for("admin.static", filename="admin.css") == "/admin/static/admin.css"
        assert hashstore.flask.asset_integrity("css/app.css") == ""
        tag = hashstore.flask.asset_tag("js/app.js")
        assert tag == Markup('<script src="/static/js/app.js"></script>')
    for path, body in [("/static/css/base.css", FILES["css/base.css"]),
                       ("/admin/static/admin.css", ADMIN_FILES["admin.css"])]:  # fmt: skip
        with client.get(path) as response:
            assert response.text == body


def test_without_debug_a_missing_manifest_says_what_to_run(app: Flask) -> None:
    with app.app_context(), pytest.raises(ManifestError) as info:
        hashstore.flask.asset_url("css/app.css")
    assert "hashstore.json does not exist: run `flask hashstore publish`" in str(info.value)


def test_debug_reloads_a_changed_manifest_once_per_request(app: Flask) -> None:
    publish(app)
    app.debug = True

    @app.get("/")
    def index() -> str:
        return render_template_string("{{ asset_url('css/app.css') }}|{{ asset_url('js/app.js') }}")

    client = app.test_client()
    refreshes = count_refreshes(app)
    first = client.get("/").text
    assert refreshes == [False]
    Path(app.root_path, "static/css/app.css").write_text("body { color: blue }\n")
    # A publish from another process (an editor's watcher, a terminal) rewrites the file.
    hashstore_main(["publish", os.path.join(app.root_path, "static"), "--to",
                    app.config["HASHSTORE_TARGET"], "--manifest", app.config["HASHSTORE_MANIFEST"],
                    "--base-url", CDN])  # fmt: skip
    second = client.get("/").text
    assert refreshes == [False, True]
    assert second.split("|")[0] != first.split("|")[0]
    assert second.split("|")[1] == first.split("|")[1]
    assert cdn_file(app, second.split("|")[0]) == b"body { color: blue }\n"
    # The manifest disappears: back to Flask's own static files.
    Path(app.config["HASHSTORE_MANIFEST"]).unlink()
    assert client.get("/").text == "/static/css/app.css|/static/js/app.js"


# url_for


def test_url_for_is_flasks_unless_opted_in(app: Flask) -> None:
    publish(app)
    with app.test_request_context():
        assert flask.url_for("static", filename="css/app.css") == "/static/css/app.css"


@pytest.fixture
def url_for_app(tmp_path: Path) -> Flask:
    app = make_app(tmp_path / "site", config={"HASHSTORE_URL_FOR": True})
    admin = admin_blueprint(tmp_path / "admin")

    @admin.get("/")
    def index() -> str:
        return render_template_string(
            "{{ url_for('.static', filename='admin.css') }} {{ url_for('.index') }}"
        )

    app.register_blueprint(admin)  # after init_app, as an app factory does
    publish(app)
    return app


def test_url_for_gives_hashed_urls_in_python(url_for_app: Flask) -> None:
    manifest = url_for_app.extensions["hashstore"].manifest
    with url_for_app.test_request_context():
        assert flask.url_for("static", filename="css/app.css") == manifest.url("css/app.css")
        assert flask.url_for("admin.static", filename="img/shield.png") == manifest.url(
            "admin/static/img/shield.png"
        )
        assert flask.url_for("static", filename="img/logo.png", _anchor="a b") == (
            manifest.url("img/logo.png") + "#a%20b"
        )
        assert flask.url_for("static", filename="img/logo.png", size=2, x=None) == (
            manifest.url("img/logo.png") + "?size=2"
        )
        assert flask.url_for("admin.index") == "/admin/"
        with pytest.raises(UnknownAssetError, match=r"'css/nope\.css' is not in manifest"):
            flask.url_for("static", filename="css/nope.css")
    # Outside a request no SERVER_NAME is needed: the URL is the CDN's.
    with url_for_app.app_context():
        assert flask.url_for("static", filename="css/app.css") == manifest.url("css/app.css")


def test_url_for_gives_hashed_urls_in_templates(url_for_app: Flask) -> None:
    manifest = url_for_app.extensions["hashstore"].manifest
    with url_for_app.test_request_context():
        assert render_template_string(
            "{{ url_for('static', filename='js/app.js') }}"
        ) == manifest.url("js/app.js")
    # In a blueprint's view, '.static' is the blueprint's static folder.
    html = url_for_app.test_client().get("/admin/").text
    assert html == f"{manifest.url('admin/static/admin.css')} /admin/"


def test_url_for_with_a_path_base_url_builds_external_urls(tmp_path: Path) -> None:
    app = make_app(
        tmp_path / "site", config={"HASHSTORE_URL_FOR": True, "HASHSTORE_BASE_URL": "/assets/"}
    )
    app.jinja_env.globals["early"] = True  # the environment existed before init_app: still ours
    publish(app)
    url = app.extensions["hashstore"].manifest.url("css/app.css")
    assert url.startswith("/assets/css/app.")
    with app.test_request_context(base_url="https://shop.example.com"):
        assert flask.url_for("static", filename="css/app.css") == url
        assert flask.url_for("static", filename="css/app.css", _external=True) == (
            "https://shop.example.com" + url
        )
        assert render_template_string("{{ url_for('static', filename='css/app.css') }}") == url


def test_url_for_override_applies_when_jinja_env_exists_before_init(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site", init=False, config={"HASHSTORE_URL_FOR": True})
    assert app.jinja_env.globals["url_for"] is not None  # made before the extension
    HashStore(app)
    publish(app)
    with app.test_request_context():
        assert render_template_string("{{ url_for('static', filename='css/app.css') }}").startswith(
            f"{CDN}css/app."
        )


# Blueprints


def test_blueprint_logical_names_follow_their_urls(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site", config={"HASHSTORE_URL_FOR": True})
    app.register_blueprint(admin_blueprint(tmp_path / "admin"))
    # Under the app's static URL path: named relative to it.
    make_tree(tmp_path / "vendor" / "static", {"lib.js": "var lib;\n"})
    vendor = Blueprint("vendor", "vendor", root_path=str(tmp_path / "vendor"),
                       static_folder="static", static_url_path="/static/vendor")  # fmt: skip
    app.register_blueprint(vendor)
    # Nested, and registered a second time under another name.
    make_tree(tmp_path / "cart" / "static", {"cart.css": ".cart {}\n"})
    cart = Blueprint("cart", "cart", root_path=str(tmp_path / "cart"), static_folder="static",
                     static_url_path="/assets", url_prefix="/cart")  # fmt: skip
    shop = Blueprint("shop", "shop", url_prefix="/shop")
    shop.register_blueprint(cart)
    app.register_blueprint(shop)
    app.register_blueprint(cart, name="basket", url_prefix="/basket")
    # A blueprint without a static folder is not a source.
    app.register_blueprint(Blueprint("api", "api", url_prefix="/api"))

    routes = {r.endpoint: r.prefix for r in app.extensions["hashstore"].static_routes()}
    assert routes == {
        "static": "",
        "admin.static": "admin/static",
        "vendor.static": "vendor",
        "shop.cart.static": "shop/cart/assets",
        "basket.static": "basket/assets",
    }
    cases = [("static", "css/app.css"), ("admin.static", "img/shield.png"),
             ("vendor.static", "lib.js"), ("shop.cart.static", "cart.css"),
             ("basket.static", "cart.css")]  # fmt: skip
    app.debug = True  # no manifest yet: Flask's own URLs
    with app.test_request_context():
        flask_paths = {case: flask.url_for(case[0], filename=case[1]) for case in cases}
    publish(app)
    manifest = app.extensions["hashstore"].manifest
    assert len(manifest) == 9
    with app.test_request_context():
        for (endpoint, filename), path in flask_paths.items():
            # The logical name is Flask's URL path, relative to the app's static URL path
            # when under it, else to /.
            name = path.removeprefix("/static/") if path.startswith("/static/") else path[1:]
            assert flask.url_for(endpoint, filename=filename) == manifest.url(name)
            assert hashlib.sha256(cdn_file(app, manifest.url(name))).hexdigest() == (
                manifest[name].sha256
            )


def test_an_app_with_static_at_the_root_names_blueprints_by_their_path(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site", static_url_path="")
    app.register_blueprint(admin_blueprint(tmp_path / "admin"))
    routes = {
        r.endpoint: (r.url_path, r.prefix) for r in app.extensions["hashstore"].static_routes()
    }
    assert routes == {"static": ("", ""), "admin.static": ("/admin/static", "admin/static")}
    assert app.config["HASHSTORE_STATIC_URL_PATH"] == "/"


def test_two_static_folders_claiming_one_name_is_an_error(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site")
    # No url_prefix: Flask serves this blueprint's files at /static/ too.
    make_tree(tmp_path / "theme" / "static", {"css/app.css": "body { color: pink }\n"})
    theme = Blueprint("theme", "theme", root_path=str(tmp_path / "theme"), static_folder="static")
    app.register_blueprint(theme)
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 1
    assert "1 logical name(s) are claimed by two static folders" in result.stderr
    assert f"{tmp_path}/site/static/css/app.css from the app's static folder" in result.stderr
    assert f"{tmp_path}/theme/static/css/app.css from blueprint 'theme'" in result.stderr
    assert not Path(app.config["HASHSTORE_MANIFEST"]).exists()


def test_an_app_file_under_a_blueprints_url_path_is_a_conflict(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site", files={**FILES, "admin/static/admin.css": "x"})
    app.register_blueprint(admin_blueprint(tmp_path / "admin"))
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 1
    assert "admin/static/admin.css:" in result.stderr
    assert "blueprint 'admin'" in result.stderr


def test_a_blueprint_static_url_with_variables_cannot_be_published(tmp_path: Path) -> None:
    app = make_app(tmp_path / "site", config={"HASHSTORE_URL_FOR": True})
    app.register_blueprint(admin_blueprint(tmp_path / "admin", url_prefix="/<lang>/admin"))
    assert [r.endpoint for r in app.extensions["hashstore"].static_routes()] == ["static"]
    app.debug = True
    with app.test_request_context():  # url_for is Flask's for it
        assert (
            flask.url_for("admin.static", filename="a.css", lang="en") == "/en/admin/static/a.css"
        )
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 1
    assert "blueprint 'admin'" in result.stderr
    assert "static URL has variables" in result.stderr


def test_verify_and_prune_come_from_the_hashstore_command(app: Flask) -> None:
    publish(app)
    assert flask_cli(app, "hashstore", "verify").exit_code == 0
    result = flask_cli(app, "hashstore", "prune", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("usage: flask hashstore prune")


def test_every_config_key_is_documented() -> None:
    docs = (Path(__file__).parents[1] / "docs" / "flask.md").read_text()
    for name in (*Settings.field_names(), "url_for"):
        assert f"| `HASHSTORE_{name.upper()}` |" in docs


# Several apps


def test_one_extension_serves_several_apps_in_one_process(tmp_path: Path) -> None:
    ext = HashStore()

    def create_app(name: str, body: str) -> Flask:
        app = make_app(tmp_path / name, files={**FILES, "css/app.css": body}, init=False)
        app.config["HASHSTORE_BASE_URL"] = f"https://{name}.example.com/"
        ext.init_app(app)

        @app.get("/")
        def index() -> str:
            return render_template_string("{{ asset_url('css/app.css') }}")

        return app

    one, two = create_app("one", "body { color: red }"), create_app("two", "body { color: blue }")
    publish(one)
    publish(two)
    url_one = one.test_client().get("/").text
    url_two = two.test_client().get("/").text
    assert url_one.startswith("https://one.example.com/css/app.")
    assert url_two.startswith("https://two.example.com/css/app.")
    assert url_one.rsplit("/", 1)[1] != url_two.rsplit("/", 1)[1]
    with one.app_context():
        assert hashstore.flask.asset_url("css/app.css") == url_one
    with two.app_context():
        assert hashstore.flask.asset_url("css/app.css") == url_two
    assert Manifest.load(two.config["HASHSTORE_MANIFEST"]).base_url == "https://two.example.com/"


def test_urls_use_the_apps_base_url(app: Flask, tmp_path: Path) -> None:
    publish(app)
    other = make_app(
        tmp_path / "mirror",
        config={
            "HASHSTORE_BASE_URL": "https://mirror.example.com/s/",
            "HASHSTORE_MANIFEST": app.config["HASHSTORE_MANIFEST"],
        },
    )
    key = app.extensions["hashstore"].manifest["css/app.css"].key
    with other.app_context():
        assert hashstore.flask.asset_url("css/app.css") == f"https://mirror.example.com/s/{key}"


def test_help_shows_the_apps_settings_as_defaults(app: Flask) -> None:
    result = flask_cli(app, "hashstore", "publish", "--help")
    assert result.exit_code == 0
    out = "".join(result.stdout.split())  # argparse wraps long paths at their hyphens
    assert out.startswith("usage:flaskhashstorepublish[-h][--toTARGET]")
    assert f"manifestfile(default:{app.instance_path}/hashstore.json)" in out
    assert f"oradirectory(default:{app.config['HASHSTORE_TARGET']})" in out


def test_prehashed_keeps_names_and_a_changed_kept_file_is_refused(tmp_path: Path) -> None:
    files = {**FILES, "vendor/lib-1a2b3c4d.js": "1;\n"}
    app = make_app(tmp_path / "site", files=files, config={"HASHSTORE_PREHASHED": "vendor/*"})
    publish(app)
    manifest = Manifest.load(app.config["HASHSTORE_MANIFEST"])
    assert manifest["vendor/lib-1a2b3c4d.js"].key == "vendor/lib-1a2b3c4d.js"
    assert manifest["js/app.js"].key != "js/app.js"

    (tmp_path / "site/static/vendor/lib-1a2b3c4d.js").write_text("2;\n")
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 1
    assert "vendor/lib-1a2b3c4d.js (" in result.stderr
    assert "holds other bytes of the same size" in result.stderr
    assert Manifest.load(app.config["HASHSTORE_MANIFEST"]) == manifest
