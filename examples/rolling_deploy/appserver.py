"""One app server of the simulation: a release of the Flask example app on 127.0.0.1:PORT.

Started by :class:`servers.AppServer` as ``python appserver.py --release-dir DIR --release v2
--port PORT --mode classic|hashstore`` with the release's directory as working directory. The
app is the example's own ``create_app``, imported from the release's copy; the two modes are
the two ways the same templates can point at assets:

``hashstore``
    As the example ships: ``asset_tag``/``asset_url``/``url_for('static')`` give hashed CDN
    URLs from the manifest that ``flask hashstore publish`` wrote into the release's instance
    folder. ``HASHSTORE_*`` settings come from the environment (``FLASK_HASHSTORE_*``).
``hashed-origin``
    Hashed names without the bucket, as ``ManifestStaticFilesStorage`` or whitenoise do it:
    ``flask hashstore publish`` wrote the release's hashed files to a directory of its own
    (``HASHSTORE_TARGET``), which each app server serves at ``/hashed/`` (the base URL).
``classic``
    Cache busting by query string: the same helpers give ``/static/css/app.css?v=2``, served
    by the app servers themselves.

Static files are sent with a one-year ``max-age``, as a CDN in front of them is meant to keep
them (what ``?v=`` and hashed names are for).

Every response says which release made it (``X-Release``), so the simulation's client knows
which release rendered a page and which one an asset came from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ONE_YEAR = 365 * 24 * 3600


def create_app(release_dir: Path, release: str, *, mode: str) -> Any:
    """The example app of ``release_dir`` in ``mode``."""
    sys.path.insert(0, str(release_dir))
    from flask import Response, send_from_directory, url_for
    from flask_app import create_app as example_app
    from markupsafe import Markup

    from hashstore.bundlers import development_entries
    from hashstore.tags import render_asset_tag, render_entry_tags

    if mode == "hashstore":
        app = example_app()
    elif mode == "hashed-origin":
        app = example_app({"SEND_FILE_MAX_AGE_DEFAULT": ONE_YEAR})
        hashed_dir = app.config["HASHSTORE_TARGET"]
        base = app.config["HASHSTORE_BASE_URL"]

        @app.get(f"{base}<path:filename>")
        def hashed(filename: str) -> Response:
            return send_from_directory(hashed_dir, filename)

    else:
        app = example_app({"HASHSTORE_URL_FOR": False, "SEND_FILE_MAX_AGE_DEFAULT": ONE_YEAR})
        number = int(release.lstrip("v"))
        routes = app.extensions["hashstore"].static_routes()

        def classic_url(name: str) -> str:
            # The static route whose logical-name prefix is the longest match, as Flask serves.
            route = max(
                (r for r in routes if not r.prefix or name.startswith(r.prefix + "/")),
                key=lambda r: len(r.prefix),
            )
            filename = name[len(route.prefix) + 1 :] if route.prefix else name
            return url_for(route.endpoint, filename=filename, v=number)

        def classic_tag(name: str, **attrs: Any) -> Markup:
            return Markup(render_asset_tag(name, classic_url(name), None, attrs))

        def classic_entry_tags(name: str) -> Markup:
            # The Vite front end's entry, read from Vite's manifest in the static folder.
            sources = app.extensions["hashstore"].publish_settings(check=False).sources
            entry = development_entries(sources)[name]
            return Markup(render_entry_tags(entry, lambda n: (classic_url(n), None)))

        app.jinja_env.globals.update(
            asset_url=classic_url,
            asset_tag=classic_tag,
            asset_integrity=lambda name: "",
            entry_tags=classic_entry_tags,
        )

    @app.after_request
    def mark(response: Response) -> Response:
        response.headers["X-Release"] = release
        return response

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release-dir", type=Path, required=True)
    parser.add_argument("--release", required=True, help="v1, v2, ...")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["classic", "hashed-origin", "hashstore"], required=True)
    args = parser.parse_args()

    from werkzeug.serving import make_server

    app = create_app(args.release_dir.resolve(), args.release, mode=args.mode)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"{args.release} ({args.mode}) on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
