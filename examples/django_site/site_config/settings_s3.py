"""Settings for publishing to S3 (or any S3-compatible store) and serving through a CDN.

    SITE_S3_BUCKET=my-assets SITE_CDN_URL=https://cdn.example.com/static/ \
    DJANGO_SETTINGS_MODULE=site_config.settings_s3 python manage.py collectstatic --noinput

SITE_S3_ENDPOINT_URL points at MinIO, R2 or a test server; credentials come from the standard
AWS chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE, an instance role).
"""

import os

from .settings import *  # noqa: F403
from .settings import ALLOWED_HOSTS

DEBUG = os.environ.get("SITE_DEBUG", "0") == "1"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *os.environ.get("SITE_HOSTS", "").split(",")]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "hashstore.django.HashStoreStorage",
        "OPTIONS": {
            "bucket": os.environ["SITE_S3_BUCKET"],
            "prefix": os.environ.get("SITE_S3_PREFIX", "static"),
            "base_url": os.environ["SITE_CDN_URL"],
            "endpoint_url": os.environ.get("SITE_S3_ENDPOINT_URL") or None,
            "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        },
    },
}
