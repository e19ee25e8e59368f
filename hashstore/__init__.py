"""hashstore: content-hashed static assets, published safely to S3 and CloudFront.

The core pipeline, for code that is neither Django nor Flask::

    from hashstore import Settings, publish

    report = publish(Settings(sources=("static",), target="s3://bucket/static/",
                              base_url="https://cdn.example.com/static/"))
    print(report.summary())
"""

from __future__ import annotations

from .build import Build, BuiltFile, build
from .errors import (
    ConfigError,
    HashstoreError,
    Interrupted,
    KeptNameChangedError,
    ManifestError,
    MissingReferenceError,
    PublishError,
    SourceError,
    TargetError,
    UnknownAssetError,
)
from .manifest import Manifest, ManifestEntry
from .publish import PublishReport, publish
from .settings import Settings

__version__ = "0.1.0.dev0"
"""The version of hashstore (the ``hashstore-static`` distribution); pyproject.toml reads it."""

__all__ = [
    "Build",
    "BuiltFile",
    "ConfigError",
    "HashstoreError",
    "Interrupted",
    "KeptNameChangedError",
    "Manifest",
    "ManifestEntry",
    "ManifestError",
    "MissingReferenceError",
    "PublishError",
    "PublishReport",
    "Settings",
    "SourceError",
    "TargetError",
    "UnknownAssetError",
    "build",
    "publish",
]
