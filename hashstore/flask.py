"""The Flask extension: ``HashStore(app)``, ``flask hashstore ...`` and the template helpers.

An adapter, as DESIGN.md asks: it turns the app's ``HASHSTORE_*`` configuration and its static
folders into one :class:`~hashstore.settings.Settings` and calls the core; every rule about
building and publishing lives there. What is Flask's own:

- **Sources** are the app's static folder and every blueprint's, named as Flask's URLs are: a
  file's logical name is its static URL path relative to the app's static URL path
  (``url_for('static', filename='css/app.css')`` -> ``css/app.css``; a blueprint serving
  ``/admin/static/x.css`` -> ``admin/static/x.css``). They are read from the app's URL map when
  needed, so blueprints registered after :meth:`HashStore.init_app` count.
- **Commands**: ``flask hashstore ARGS`` hands its arguments to :func:`hashstore.cli.main` with
  the app's settings as defaults, so options, output, ``--json`` and exit codes are the
  ``hashstore`` command's.
- **Templates and code**: ``asset_url``, ``asset_tag`` and ``asset_integrity`` as Jinja globals and
  as functions of this module (for the current app); with ``HASHSTORE_URL_FOR = True``,
  ``url_for('static', ...)`` gives the hashed URL too.
- **Debug**: without a manifest, URLs are Flask's own static URLs; with one, it is reloaded when
  the file changes (one ``stat`` per request, in debug only).

.. versionadded:: 0.1
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from ._extras import missing_framework

try:
    import click
    from flask import current_app, has_request_context, request
    from flask.cli import ScriptInfo
    from markupsafe import Markup
except ImportError as exc:
    raise missing_framework("hashstore.flask", "Flask", exc) from exc

from . import cli
from .bundlers import development_entries, entry_modules
from .errors import ConfigError, HashstoreError, ManifestError, SourceError, UnknownAssetError
from .manifest import Manifest
from .scan import scan
from .settings import Settings
from .spelling import Spelling
from .tags import render_asset_tag, render_entry_tags, render_import_map

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "HashStore",
    "HashStoreState",
    "StaticRoute",
    "asset_integrity",
    "asset_tag",
    "asset_url",
    "entry_tags",
    "hashstore_command",
    "import_map",
]

EXTENSION_KEY = "hashstore"
"""The key of the per-app :class:`HashStoreState` in ``app.extensions``."""

MANIFEST_NAME = "hashstore.json"
"""The manifest's file name in the instance folder, its default place."""

# Keys of this adapter that are not Settings fields.
_URL_FOR_KEY = "url_for"
_FILENAME_RULE = "/<path:filename>"
# What Flask's own url_for leaves unquoted in an anchor.
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


def _describe(name: str) -> str:
    return f"HASHSTORE_{name.upper()}"


class ConfigSpelling(Spelling):
    """Settings as the app's configuration keys: ``HASHSTORE_CHECKSUM = 'md5'``."""

    def name(self, field: str) -> str:
        return _describe(field)

    def assign(self, field: str, value: object) -> str:
        return f"{_describe(field)} = {value!r}"


class CommandSpelling(ConfigSpelling):
    """``flask hashstore`` takes both: ``HASHSTORE_CHECKSUM = 'md5' (or --checksum md5)``."""

    def name(self, field: str) -> str:
        flag = cli.SPELLING.name(field)
        return super().name(field) + (f" (or {flag})" if flag != field else "")

    def assign(self, field: str, value: object) -> str:
        flag = cli.SPELLING.assign(field, value)
        return super().assign(field, value) + (
            f" (or {flag})" if field in cli.SPELLING.flags else ""
        )


CONFIG_SPELLING = ConfigSpelling()
COMMAND_SPELLING = CommandSpelling()


@dataclass(frozen=True, slots=True)
class StaticRoute:
    """A static folder Flask serves, and the logical names its files get.

    :param endpoint: ``static`` for the app, ``<blueprint>.static`` for a blueprint.
    :param folder: the directory on disk.
    :param url_path: the URL path Flask serves it under, without a trailing ``/``.
    :param prefix: the logical-name prefix of its files: ``url_path`` relative to the app's
        static URL path when under it, else relative to ``/`` (``""`` for the app's own).
    """

    endpoint: str
    folder: str
    url_path: str
    prefix: str

    def logical_name(self, filename: str) -> str:
        """The logical name of ``url_for(self.endpoint, filename=filename)``."""
        return f"{self.prefix}/{filename}" if self.prefix else filename

    def describe(self) -> str:
        """``the app's static folder`` or ``blueprint 'admin'``, with its folder and URL path."""
        owner = (
            "the app's static folder"
            if self.endpoint == "static"
            else f"blueprint '{self.endpoint.removesuffix('.static')}'"
        )
        return f"{owner} {self.folder} (URL {self.url_path}/...)"


class HashStore:
    """The Flask extension: content-hashed asset URLs from the manifest ``publish`` wrote.

    Use it directly (``HashStore(app)``) or with an app factory (``hashstore = HashStore()`` at
    module level, ``hashstore.init_app(app)`` in the factory); one instance serves any number
    of apps, because everything per app lives in ``app.extensions["hashstore"]``.

    :param app: the app to initialize now, if any.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the app's ``HASHSTORE_*`` configuration once and install the helpers.

        Sets each missing key to its default (``app.config.setdefault``), validates them all
        into a :class:`~hashstore.settings.Settings`, loads the manifest if it exists, adds the
        Jinja globals and, with ``HASHSTORE_URL_FOR``, makes ``url_for`` for static endpoints
        return hashed URLs.

        :raises ConfigError: an invalid ``HASHSTORE_*`` value, or the app is initialized already.
        :raises ManifestError: the manifest exists but cannot be read.
        """
        if EXTENSION_KEY in app.extensions:
            raise ConfigError(
                f"hashstore is already initialized on the Flask app '{app.name}'. Call "
                "HashStore(app) or init_app(app) once per app, and import that instance "
                "wherever else you need it."
            )
        for name, value in default_config(app).items():
            app.config.setdefault(name, value)
        values = app.config.get_namespace("HASHSTORE_")
        use_url_for = _to_bool(values.pop(_URL_FOR_KEY))
        settings = Settings.from_mapping(values, spelling=CONFIG_SPELLING)
        # Relative paths are the app's, not the current directory's, as Flask's static_folder
        # and Flask-SQLAlchemy's sqlite paths are: the same app finds the same files from a
        # deploy script, a worker or a test.
        settings = settings.with_changes(
            manifest=Path(app.instance_path, settings.manifest),
            sources=tuple(_from_root(app.root_path, item) for item in settings.sources),
        )
        state = HashStoreState(app, settings, url_for=use_url_for)
        app.extensions[EXTENSION_KEY] = state
        app.before_request(state._before_request)
        if use_url_for:
            # An attribute on the instance shadows Flask.url_for for this app only; flask.url_for
            # calls current_app.url_for. Jinja's url_for global is a bound method taken when the
            # environment is made, so point it at the new one too.
            app.url_for = state._url_for  # type: ignore[method-assign]
            app.jinja_env.globals["url_for"] = state._url_for
        app.jinja_env.globals.update(
            asset_url=state.url,
            asset_tag=state.tag,
            asset_integrity=state.integrity,
            entry_tags=state.entry_tags,
            import_map=state.import_map,
        )


def default_config(app: Flask) -> dict[str, Any]:
    """Every ``HASHSTORE_*`` key with its default for ``app``.

    Settings' own defaults, except ``HASHSTORE_MANIFEST`` (``hashstore.json`` in the instance
    folder, which is per deployment and outside version control), ``HASHSTORE_BASE_URL`` (the
    app's static URL path, so an unconfigured app's URLs are where Flask serves them) and
    ``HASHSTORE_STATIC_URL_PATH`` (the same path, so CSS's root-relative references such as
    ``url(/static/img/logo.png)`` resolve as Flask serves them, whatever the CDN's URL).
    """
    base = Settings()
    static_path = "/static/" if app.static_url_path is None else app.static_url_path + "/"
    config: dict[str, Any] = {
        _describe(name): getattr(base, name) for name in Settings.field_names()
    }
    config[_describe("manifest")] = os.path.join(app.instance_path, MANIFEST_NAME)
    config[_describe("base_url")] = static_path
    config[_describe("static_url_path")] = static_path
    config[_describe(_URL_FOR_KEY)] = False
    return config


class HashStoreState:
    """What :class:`HashStore` keeps for one app, in ``app.extensions["hashstore"]``.

    :param app: the app.
    :param settings: its validated settings; ``sources`` holds only extra sources
        (``HASHSTORE_SOURCES``): the static folders are added by :meth:`publish_settings`.
    :param url_for: whether ``url_for`` of static endpoints gives hashed URLs.
    """

    def __init__(self, app: Flask, settings: Settings, *, url_for: bool) -> None:
        self.app = app
        self.settings = settings
        self.url_for_enabled = url_for
        self._flask_url_for: Callable[..., str] = app.url_for
        self._routes: tuple[int, dict[str, StaticRoute]] = (-1, {})
        self._variable_routes: list[StaticRoute] = []
        self._stamp: tuple[int, int, int] | None = None
        self.manifest: Manifest | None = None
        """The loaded manifest, or ``None`` when its file does not exist (yet)."""
        self.refresh()

    # Manifest

    def refresh(self) -> bool:
        """Load the manifest again if its file changed (one ``stat``); whether it changed.

        Called before each request in debug mode, and after ``flask hashstore`` commands.
        """
        path = self.settings.manifest
        try:
            st = os.stat(path)
        except FileNotFoundError:
            stamp = None
        else:
            # Publish replaces the file by renaming a new one over it: a new inode, even when
            # mtime's resolution hides the change.
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return False
        # URLs start with this app's HASHSTORE_BASE_URL, as Django's storage does with its
        # base_url, so one published build can be served through another CDN host.
        url_base = self.settings.base_url
        self.manifest = Manifest.load(path, url_base=url_base) if stamp is not None else None
        self._stamp = stamp
        return True

    def _before_request(self) -> None:
        if self.app.debug:
            self.refresh()

    def _require_manifest(self) -> Manifest:
        if self.manifest is not None:
            return self.manifest
        raise ManifestError(
            f"manifest {self.settings.manifest} does not exist: run `flask hashstore publish` to "
            "write it (or set HASHSTORE_MANIFEST). Without a manifest only debug mode gives "
            "URLs, Flask's own static ones."
        )

    # Helpers for templates and code

    def url(self, name: str) -> str:
        """The URL of a logical name (``css/app.css``); Flask's static URL in debug without a
        manifest.

        :raises UnknownAssetError: the name is not in the manifest.
        :raises ManifestError: there is no manifest and the app is not in debug mode.
        """
        if self.manifest is None and self.app.debug:
            return self._local_url(name)
        return self._require_manifest().url(name)

    def integrity(self, name: str) -> str:
        """The SRI ``integrity`` value of a logical name; ``""`` in debug without a manifest."""
        if self.manifest is None and self.app.debug:
            return ""
        return self._require_manifest().integrity(name)

    def tag(self, name: str, **attrs: Any) -> Markup:
        """A ``<link rel="stylesheet">`` (CSS) or ``<script>`` (JavaScript) tag for a logical
        name, with ``integrity`` and ``crossorigin``.

        :param attrs: more attributes, as :func:`hashstore.tags.render_asset_tag` takes them:
            ``True`` writes the name alone (``defer``), ``False`` and ``None`` leave it out and
            ``_`` becomes ``-`` (``data_turbo_track`` -> ``data-turbo-track``).
        :raises ValueError: a name that is not ``.css``, ``.js`` or ``.mjs``.
        """
        url = self.url(name)
        integrity = self.integrity(name) or None
        return Markup(render_asset_tag(name, url, integrity, attrs))

    def entry_tags(self, name: str) -> Markup:
        """The tags that load a bundler's entry point (``src/main.js``): its stylesheets,
        ``modulepreload`` links for its static imports and its ``<script type="module">``, each
        with ``integrity`` and ``crossorigin`` (see :func:`hashstore.tags.render_entry_tags`).

        In debug mode without a manifest the entry comes from the bundler's manifest in the
        static folders and the URLs are Flask's own, without integrity.

        :raises UnknownAssetError: no bundle in the published build has that entry point.
        :raises ManifestError: there is no manifest (entry points come from a publish).

        .. versionadded:: 0.2
        """
        if self.manifest is None and self.app.debug:
            # Development: the bundler's own manifest, the files as Flask serves them.
            entries = development_entries(self.publish_settings(check=False).sources)
            if name not in entries:
                raise UnknownAssetError(
                    f"'{name}' is not an entry point of any bundler manifest in the static "
                    "folders; build the front end (vite build) first"
                )
            return Markup(render_entry_tags(entries[name], lambda n: (self._local_url(n), None)))
        manifest = self._require_manifest()
        entry = manifest.entry_point(name)
        return Markup(render_entry_tags(entry, lambda n: (manifest.url(n), manifest.integrity(n))))

    def import_map(self) -> Markup:
        """``<script type="importmap">`` for ``HASHSTORE_IMPORT_MAP``: each bare specifier
        mapped to its hashed URL, with an ``integrity`` entry for each and for every ES module
        of the bundles' entry points (their ``import()`` chunks included).

        .. versionadded:: 0.2
        """
        modules = entry_modules(self.manifest.entries) if self.manifest is not None else []
        return Markup(
            render_import_map(
                self.settings.import_map,
                lambda n: (self.url(n), self.integrity(n) or None),
                modules,
            )
        )

    # Sources

    def static_routes(self) -> tuple[StaticRoute, ...]:
        """The app's and its blueprints' static folders, in registration order.

        Read from the URL map, so it sees ``url_prefix``, nested blueprints and blueprints
        registered under another ``name``. Cached until another blueprint is registered.
        Folders served at URLs with variables (``/<lang>/static/``) are left out.
        """
        return tuple(self._route_map().values())

    def _route_map(self) -> dict[str, StaticRoute]:
        count, routes = self._routes
        if count != len(self.app.blueprints):
            count = len(self.app.blueprints)
            routes = {route.endpoint: route for route in _static_routes(self.app)}
            self._variable_routes = [r for r in routes.values() if _has_variables(r)]
            for route in self._variable_routes:
                del routes[route.endpoint]
            self._routes = (count, routes)
        return routes

    def publish_settings(self, *, check: bool = True) -> Settings:
        """The settings ``flask hashstore`` runs with: the static folders that exist, then
        ``HASHSTORE_SOURCES``.

        :param check: make sure every file has one logical name: no static URL path with
            variables, no two sources holding the same name (a walk of the folders, only when
            their URL paths nest and the nested directory exists). ``publish`` checks.
        :raises ConfigError: a static folder is served at a URL path with variables.
        :raises SourceError: two sources hold the same logical name (naming both files).
        """
        routes = [r for r in self.static_routes() if os.path.isdir(r.folder)]
        if check and self._variable_routes:
            raise ConfigError(
                f"{self._variable_routes[0].describe()}: its static URL has variables, so its "
                "files have no one name; give the blueprint a fixed url_prefix, or "
                "static_folder=None to leave its files out"
            )
        labelled: list[tuple[str, Path, str]] = [
            (r.prefix, Path(r.folder), r.describe()) for r in routes
        ]
        for item in self.settings.sources:
            prefix, folder = item if isinstance(item, tuple) else ("", item)
            labelled.append((prefix, folder, f"HASHSTORE_SOURCES entry {folder}"))
        sources = tuple((prefix, folder) for prefix, folder, _ in labelled)
        if check and _may_overlap(labelled):
            _check_no_shadowing(labelled, self.settings.ignore)
        return self.settings.with_changes(sources=sources)

    # url_for

    def _local_url(self, name: str) -> str:
        best: StaticRoute | None = None
        for route in self._route_map().values():
            if (not route.prefix or name.startswith(route.prefix + "/")) and (
                best is None or len(route.prefix) > len(best.prefix)
            ):
                best = route
        if best is None:
            raise self._require_manifest().unknown(name)
        filename = name[len(best.prefix) + 1 :] if best.prefix else name
        return self._flask_url_for(best.endpoint, filename=filename)

    def _url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """``Flask.url_for`` that answers static endpoints from the manifest."""
        url = None
        if endpoint == "static" or endpoint.endswith(".static"):
            url = self._static_url(endpoint, values, _scheme=_scheme, _external=_external)
        if url is None:
            return self._flask_url_for(
                endpoint,
                _anchor=_anchor,
                _method=_method,
                _scheme=_scheme,
                _external=_external,
                **values,
            )
        if _anchor is not None:
            url = f"{url}#{quote(_anchor, safe=_ANCHOR_SAFE)}"
        return url

    def _static_url(
        self,
        endpoint: str,
        values: dict[str, Any],
        *,
        _scheme: str | None,
        _external: bool | None,
    ) -> str | None:
        in_request = has_request_context()
        if endpoint.startswith("."):
            blueprint = request.blueprint if in_request else None
            endpoint = f"{blueprint}{endpoint}" if blueprint else endpoint[1:]
        route = self._route_map().get(endpoint)
        filename = values.get("filename")
        if route is None or not isinstance(filename, str):
            return None  # not a static folder of ours: Flask builds it (or says why not)
        if self.manifest is None and self.app.debug:
            return None
        url = self._require_manifest().url(route.logical_name(filename))
        extra = {k: v for k, v in values.items() if k != "filename" and v is not None}
        if extra:
            url = f"{url}?{urlencode(extra, doseq=True)}"
        if _external is None:
            _external = _scheme is not None if in_request else True  # as Flask decides
        if _external and url.startswith("/"):
            # base_url is a path: take scheme and host from Flask, as url_for would.
            flask_url = urlsplit(
                self._flask_url_for(endpoint, _scheme=_scheme, _external=True, filename=filename)
            )
            url = f"{flask_url.scheme}://{flask_url.netloc}{url}"
        return url


def _static_routes(app: Flask) -> list[StaticRoute]:
    app_path = (app.static_url_path or "").rstrip("/")
    routes = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint == "static":
            folder = app.static_folder
        elif endpoint.endswith(".static"):
            blueprint = app.blueprints.get(endpoint.removesuffix(".static"))
            folder = blueprint.static_folder if blueprint is not None else None
        else:
            continue
        if folder is None:
            continue
        if not rule.rule.endswith(_FILENAME_RULE):
            continue  # not a static route as Flask makes them
        # A path with variables (`/<lang>/static`) gives no one URL per file: such a route is
        # left to Flask by url_for, and publish_settings refuses it rather than invent names.
        url_path = rule.rule.removesuffix(_FILENAME_RULE)
        if url_path == app_path or url_path.startswith(app_path + "/"):
            prefix = url_path[len(app_path) :].strip("/")
        else:
            prefix = url_path.strip("/")
        routes.append(StaticRoute(endpoint, folder, url_path, prefix))
    return routes


def _has_variables(route: StaticRoute) -> bool:
    return "<" in route.url_path


def _may_overlap(sources: list[tuple[str, Path, str]]) -> bool:
    """Whether two sources could name one file alike; cheap (a ``stat`` per nested pair)."""
    for i, (outer, outer_dir, _) in enumerate(sources):
        for inner, inner_dir, _ in sources[i + 1 :]:
            if outer == inner:
                return True
            if not outer or inner.startswith(outer + "/"):
                if (outer_dir / inner[len(outer) :].lstrip("/")).is_dir():
                    return True
            elif (not inner or outer.startswith(inner + "/")) and (
                inner_dir / outer[len(inner) :].lstrip("/")
            ).is_dir():
                return True
    return False


def _check_no_shadowing(sources: list[tuple[str, Path, str]], ignore: tuple[str, ...]) -> None:
    # The core lets the first source win, as Django's finders do; in Flask two static folders
    # giving one name means two URLs Flask would serve differently, so it is an error.
    result = scan([(prefix, folder) for prefix, folder, _ in sources], ignore=ignore)
    if not result.shadowed:
        return

    def owner(path: Path) -> str:
        for _, folder, label in sorted(sources, key=lambda s: -len(str(s[1]))):
            if path.is_relative_to(folder.resolve()) or path.is_relative_to(folder):
                return label
        return str(path)

    lines = [
        f"  {s.name}: {s.kept} from {owner(s.kept)}\n    and {s.ignored} from {owner(s.ignored)}"
        for s in result.shadowed[:20]
    ]
    more = len(result.shadowed) - len(lines)
    raise SourceError(
        f"{len(result.shadowed)} logical name(s) are claimed by two static folders:\n"
        + "\n".join(lines)
        + (f"\n  and {more} more" if more > 0 else "")
        + "\nRename or move one of the files, or give the blueprint another static_url_path."
    )


def _from_root(root: str, item: Path | tuple[str, Path]) -> Path | tuple[str, Path]:
    if isinstance(item, tuple):
        return (item[0], Path(root, item[1]))
    return Path(root, item)


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", "", "none"}:
        return False
    raise ConfigError(f"{_describe(_URL_FOR_KEY)} = {value!r} is invalid: true or false")


def _state(app: Flask) -> HashStoreState:
    try:
        state: HashStoreState = app.extensions[EXTENSION_KEY]
    except KeyError:
        raise ConfigError(
            f"hashstore is not initialized on the Flask app '{app.name}': call "
            "HashStore(app), or hashstore.init_app(app) in your app factory"
        ) from None
    return state


def asset_url(name: str) -> str:
    """The URL of a logical name for the current app, as the ``asset_url`` template global.

    For JSON APIs, e-mails and redirects; absolute whenever ``HASHSTORE_BASE_URL`` is.
    """
    return _state(current_app).url(name)


def asset_integrity(name: str) -> str:
    """The SRI ``integrity`` value of a logical name for the current app."""
    return _state(current_app).integrity(name)


def asset_tag(name: str, **attrs: Any) -> Markup:
    """A ``<link>`` or ``<script>`` tag with ``integrity`` and ``crossorigin`` for the current
    app, as the ``asset_tag`` template global."""
    return _state(current_app).tag(name, **attrs)


def entry_tags(name: str) -> Markup:
    """The tags that load a bundler's entry point for the current app, as the ``entry_tags``
    template global.

    .. versionadded:: 0.2
    """
    return _state(current_app).entry_tags(name)


def import_map() -> Markup:
    """The import map of ``HASHSTORE_IMPORT_MAP`` for the current app, as the ``import_map``
    template global.

    .. versionadded:: 0.2
    """
    return _state(current_app).import_map()


@click.command(
    "hashstore",
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    short_help="Publish static files under content-hashed names (publish, url...).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def hashstore_command(args: tuple[str, ...]) -> None:
    """Run the ``hashstore`` command with the app's settings: ``flask hashstore publish``.

    Arguments go to :func:`hashstore.cli.main` as they are, so ``flask hashstore --help``
    and every subcommand's options, output and exit codes are the ``hashstore`` command's.
    An invalid ``HASHSTORE_*`` value, whether ``HashStore(app)`` refused it while the app was
    made or the command found it, is one ``error:`` message and exit status 1, never a
    traceback (with ``--json``, also a JSON error object on stdout).
    """
    ctx = click.get_current_context()
    try:
        if current_app:
            app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        else:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        state = _state(app)
        defaults = state.publish_settings(check=args[:1] == ("publish",))
    except HashstoreError as exc:
        message = exc.render(CONFIG_SPELLING)
        print(f"error: {message}", file=sys.stderr)
        if "--json" in args:
            cli.print_json_error(type(exc).__name__, message, 1)
        ctx.exit(1)
    try:
        code = cli.main(
            list(args), defaults=defaults, prog="flask hashstore", spelling=COMMAND_SPELLING
        )
    finally:
        state.refresh()  # an app that just published serves the new manifest
    ctx.exit(code)
