"""Django's ``collectstatic``, telling ``HashStoreStorage.post_process`` its verbosity.

Django calls ``post_process(paths, dry_run=...)`` without the verbosity; this subclass runs the
original inside :func:`~hashstore.django.storage.report_to`, so verbosity 1 prints one summary
line and verbosity 2 a line per uploaded file. Everything else is Django's command.
"""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.management.commands import collectstatic

from ...storage import report_to


class Command(collectstatic.Command):
    help = collectstatic.Command.help + " Then publish them with hashstore."

    def handle(self, **options: Any) -> str | None:
        with report_to(verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr):
            result: str | None = super().handle(**options)
        return result
