"""Django adapter: ``HashStoreStorage`` for collectstatic, template tags, checks, commands.

Configure the storage and add the app::

    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {
            "BACKEND": "hashstore.django.HashStoreStorage",
            "OPTIONS": {"bucket": "my-assets", "prefix": "static",
                        "base_url": "https://cdn.example.com/static/"},
        },
    }
    INSTALLED_APPS = ["hashstore.django", "django.contrib.staticfiles", ...]

See docs/django.md for every option.
"""

from __future__ import annotations

from .._extras import missing_framework

try:
    import django  # noqa: F401  (the submodules import it; fail here with the extra's name)
except ImportError as exc:
    raise missing_framework("hashstore.django", "Django", exc) from exc

from .assets import asset_integrity, asset_tag, asset_url, entry_tags, import_map
from .storage import HashStoreStorage

__all__ = [
    "HashStoreStorage",
    "asset_integrity",
    "asset_tag",
    "asset_url",
    "entry_tags",
    "import_map",
]
