"""Settings for local development: hashstore publishes to a directory, served at /assets/.

Before the first collectstatic there is no manifest, and with DEBUG on `{% static %}` gives
/static/<name>, which runserver serves from the apps' folders. After
`python manage.py collectstatic` URLs are /assets/<hashed key>, served from build/assets.
For S3 see settings_s3.py. No database is needed.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = Path(os.environ.get("SITE_BUILD_DIR", BASE_DIR / "build"))

SECRET_KEY = "example-only-not-a-secret"
DEBUG = os.environ.get("SITE_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "hashstore.django",  # before staticfiles: its collectstatic reports what was published
    "django.contrib.staticfiles",
    "blog",
    "shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BUILD_DIR / "static"  # collectstatic collects here, then hashstore publishes
# The Vite front end (examples/frontend) is built into frontend/dist/, published under frontend/.
STATICFILES_DIRS = [BASE_DIR / "static", ("frontend", BASE_DIR / "frontend" / "dist")]

ASSETS_DIR = BUILD_DIR / "assets"  # the local target: hashed files, never overwritten
ASSETS_URL = "/assets/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "hashstore.django.HashStoreStorage",
        "OPTIONS": {"target": str(ASSETS_DIR), "base_url": ASSETS_URL},
    },
}
