"""``manage.py hashstore_prune``: delete what no kept release needs (a dry run unless --yes).

The same options, rule and output as ``hashstore prune`` (see docs/retention.md); the settings
are the storage's (``STORAGES["staticfiles"]["OPTIONS"]``), which flags override.
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
        "Keep the newest --keep-releases N releases and those younger than --keep-days D; "
        "print what else would be deleted, and delete it with --yes."
    )
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_prune_arguments(parser, help_defaults())

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = argparse.Namespace(**options)
        try:
            storage = hashstore_storage()
            settings = cli.settings_from_args(namespace, storage.hashstore_settings)
            code = cli.run_prune(namespace, settings, self.stdout, self.stderr)
        except Interrupted as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except HashstoreError as exc:
            # A flag's error names the flag; any other names the storage's OPTIONS.
            raise CommandError(exc.render(exc.spelling or storage.hashstore_spelling)) from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if code:
            raise CommandError(
                "a release published during the prune lost objects (see above): publish it again",
                returncode=code,
            )
