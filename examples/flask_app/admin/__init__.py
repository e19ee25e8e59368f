"""A blueprint with its own static folder, served by Flask at ``/admin/static/``.

Its files' logical names are their static URL paths: ``admin/static/admin.css``, so
``url_for('admin.static', filename='admin.css')`` and ``asset_url('admin/static/admin.css')``
give the same hashed URL.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

admin = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)


@admin.get("/")
def index() -> ResponseReturnValue:
    return render_template("admin/index.html")
