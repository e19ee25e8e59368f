"""A small Flask app whose static files are published by hashstore.

Run it from the repository root::

    flask --app examples/flask_app --debug run          # no manifest: Flask serves /static/

    # Publish to a directory and serve it as a stand-in CDN on another port:
    export FLASK_HASHSTORE_TARGET=/tmp/hashstore-cdn
    export FLASK_HASHSTORE_BASE_URL=http://127.0.0.1:8001/
    flask --app examples/flask_app hashstore publish
    python -m http.server --directory /tmp/hashstore-cdn 8001 &
    flask --app examples/flask_app run

With ``FLASK_HASHSTORE_TARGET=s3://bucket/static/`` and the CDN's URL as base URL it is the
production setup: ``flask hashstore publish`` in the deploy script, before the new code serves
requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue

from hashstore.flask import HashStore, asset_url

hashstore = HashStore()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory: configuration, then the extension, then the blueprints."""
    app = Flask(__name__)
    app.config.from_mapping(
        # `url_for('static', filename=...)` gives hashed URLs too, not only the asset_* helpers.
        HASHSTORE_URL_FOR=True,
    )
    # HASHSTORE_TARGET and HASHSTORE_BASE_URL come from the deployment's environment
    # (FLASK_HASHSTORE_TARGET, FLASK_HASHSTORE_BASE_URL); the manifest goes to the instance folder.
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)

    hashstore.init_app(app)

    # Registered after init_app on purpose: hashstore finds static folders when it publishes.
    from .admin import admin

    app.register_blueprint(admin)

    @app.get("/")
    def index() -> ResponseReturnValue:
        return render_template("index.html")

    @app.get("/api/branding")
    def branding() -> ResponseReturnValue:
        # The same URLs as the templates' helpers, for JSON clients, e-mails and redirects.
        return jsonify(logo=asset_url("img/logo.svg"), stylesheet=asset_url("css/app.css"))

    return app
