"""``manage.py hashstore_pin NAME [RELEASE]``: declare a release live, so prune keeps it.

The Django spelling of ``hashstore releases pin`` / ``unpin`` (see docs/retention.md): the
target is the storage's (``STORAGES["staticfiles"]["OPTIONS"]``). Without RELEASE, the release
of the manifest ``collectstatic`` wrote last is pinned, so a deploy step reads
``manage.py collectstatic --noinput && manage.py hashstore_pin production``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ....errors import HashstoreError
from ....manifest import Manifest
from ....pins import pin_release, unpin
from ....targets import Target, open_target
from ...assets import hashstore_storage


class Command(BaseCommand):
    help = (
        "Pin RELEASE (default: the release of the manifest collectstatic wrote) as NAME, e.g. "
        "production: prune never deletes a pinned release, verify checks it. --unpin removes "
        "the pin."
    )
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="pin name, e.g. production")
        parser.add_argument(
            "release",
            metavar="RELEASE",
            nargs="?",
            help="release id (default: the release in the storage's manifest)",
        )
        parser.add_argument("--unpin", action="store_true", help="remove the pin NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        release: str | None = options["release"]
        if options["unpin"] and release is not None:
            raise CommandError("--unpin takes the pin NAME only, no RELEASE")
        try:
            settings = hashstore_storage().hashstore_settings
            if not options["unpin"] and release is None:
                release = Manifest.load(settings.manifest).release
            target = open_target(settings)
            try:
                message = (
                    self._unpin(target, name)
                    if release is None
                    else self._pin(target, name, release)
                )
            finally:
                target.close()
        except (HashstoreError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(message)

    def _pin(self, target: Target, name: str, release: str) -> str:
        pinned = pin_release(target, name, release)
        return (
            f"Pinned {name} -> release {pinned.id} ({pinned.files} file(s)) in {target.describe()}."
        )

    def _unpin(self, target: Target, name: str) -> str:
        removed = unpin(target, name)
        if removed is None:
            return f"No pin {name} in {target.describe()}: nothing to do."
        return f"Unpinned {name} (was release {removed.release}) in {target.describe()}."
