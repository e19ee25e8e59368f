"""The ``hashstore.django`` app: system checks, template tags and management commands."""

from __future__ import annotations

from django.apps import AppConfig


class HashStoreConfig(AppConfig):
    """Put ``"hashstore.django"`` in INSTALLED_APPS, before ``django.contrib.staticfiles``.

    Before it, so that its ``collectstatic`` (the original, reporting what was published)
    is the one ``manage.py`` runs, as whitenoise's ``runserver_nostatic`` does for runserver.
    """

    name = "hashstore.django"
    label = "hashstore"
    verbose_name = "hashstore"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
