"""``manage.py hashstore_verify``: every object of the manifest (or a release) is stored intact.

The same options, output and checks as ``hashstore verify``; the settings are the storage's
(``STORAGES["staticfiles"]["OPTIONS"]``), which flags override. Fails (exit status 1) when an
object is missing or mismatched, so it can gate a deploy.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from .... import cli
from ....errors import HashstoreError, Interrupted
from ...assets import hashstore_storage, help_defaults


class Command(BaseCommand):
    help = (
        "Check that every object of the hashstore manifest (or of --release ID) is stored with "
        "its recorded size and SHA-256; --deep reads every object, --via-cdn fetches every URL."
    )
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_verify_arguments(parser, help_defaults())

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = argparse.Namespace(**options)
        try:
            storage = hashstore_storage()
            settings = cli.settings_from_args(namespace, storage.hashstore_settings)
            code = cli.run_verify(namespace, settings, self.stdout)
        except Interrupted as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except HashstoreError as exc:
            # A flag's error names the flag; any other names the storage's OPTIONS.
            raise CommandError(exc.render(exc.spelling or storage.hashstore_spelling)) from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if code:
            raise CommandError(
                "some objects are missing or damaged (listed above)", returncode=code
            )
