"""Django's ``collectstatic``, telling ``HashStoreStorage.post_process`` its verbosity.

Django calls ``post_process(paths, dry_run=...)`` without the verbosity; this subclass runs the
original inside :func:`~hashstore.django.storage.report_to`, so verbosity 1 prints one summary
line and verbosity 2 a line per uploaded file. ``--pin NAME`` pins the published release. Everything
else is Django's command.
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.staticfiles.management.commands import collectstatic
from django.core.management.base import CommandParser

from ....interrupts import stop_on_signals
from ....progress import StatusLine
from ...storage import report_to


class Command(collectstatic.Command):
    help = collectstatic.Command.help + " Then publish them with hashstore."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--pin",
            action="append",
            default=[],
            metavar="NAME",
            help="hashstore: pin the published release as NAME (e.g. production) once its "
            "record is written; prune keeps pinned releases. Repeatable.",
        )

    def handle(self, **options: Any) -> str | None:
        # SIGINT/SIGTERM stop the publish before its record; a status line on a terminal.
        quiet = options["verbosity"] < 1 or options["verbosity"] >= 2
        with (
            stop_on_signals() as stop,
            report_to(
                verbosity=options["verbosity"],
                stdout=self.stdout,
                stderr=self.stderr,
                pins=options.get("pin") or (),
                progress=StatusLine(sys.stderr, enabled=False if quiet else None, stop=stop),
            ),
        ):
            result: str | None = super().handle(**options)
        return result
