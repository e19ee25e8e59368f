"""Time ``storage.url()`` and ``{% static %}`` per call: hashstore against Django's manifest.

Usage (from the repository root)::

    .venv/bin/python bench/url.py                 # 9 rounds, JSON to bench/results/url.json
    .venv/bin/python bench/url.py --repeat 15
    .venv/bin/python bench/url.py --check         # exit 1 if a goal of issue 4 is missed

Both storages serve every file of Django's admin static tree
(``django/contrib/admin/static``), collected once with ``collectstatic`` (DEBUG off, so
Django's storage looks names up in its manifest, as in production). In the same process and run
it times, per call: ``storage.url(name)`` on the storage object, and the rendering of a
``{% static "name" %}`` tag (one template holding one tag per file, rendered whole, divided by
the number of tags). As ``timeit`` does, each figure is the best of ``--repeat`` rounds of many
loops over all names, so it measures the code rather than the machine's other work; the rounds
alternate between the two storages, so a busy moment of the machine hits both.

Goals (issue 4): ``url()`` at least 10x faster than ``ManifestStaticFilesStorage.url()``,
``{% static %}`` at least 2.5x (about 8 µs of a ``{% static %}`` is Django's tag machinery,
the same for both storages).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_JSON = ROOT / "bench" / "results" / "url.json"
GOALS = {"url": 10.0, "static": 2.5}


def per_call(run: Callable[[], object], calls: int) -> float:
    """Seconds per call, from enough loops of ``run`` (``calls`` calls each) to last ~0.1 s."""
    loops = 1
    while True:
        started = time.perf_counter()
        for _ in range(loops):
            run()
        elapsed = time.perf_counter() - started
        if elapsed >= 0.1:
            return elapsed / loops / calls
        loops *= 2


def configure(work: Path) -> Path:
    import django
    from django.conf import settings

    admin_static = Path(django.__file__).parent / "contrib" / "admin" / "static"
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        INSTALLED_APPS=["hashstore.django", "django.contrib.staticfiles"],
        STATIC_URL="/static/",
        STATIC_ROOT=str(work / "unused"),
        STATICFILES_DIRS=[str(admin_static)],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    )
    django.setup()
    return admin_static


def storages_setting(backend: str, **options: Any) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": backend, "OPTIONS": options},
    }


class Contender:
    """One storage: collected once into its own ``STATIC_ROOT``, then timed in rounds."""

    def __init__(self, name: str, setting: dict[str, Any], root: Path) -> None:
        from django.core.management import call_command
        from django.test.utils import override_settings

        self.name = name
        self.override = override_settings(STORAGES=setting, STATIC_ROOT=str(root))
        with self.override:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.names = collected_names(root)
        self.timings: dict[str, list[float]] = {"url": [], "static": []}
        self.example = ""

    def time_round(self) -> None:
        """Time url() and {% static %} once each (a new storage, manifest loaded untimed)."""
        from django.core.files.storage import storages
        from django.template import engines

        with self.override:
            storage = storages["staticfiles"]
            names = self.names
            url = storage.url
            self.example = url(names[0])

            def urls() -> None:
                for n in names:
                    url(n)

            tags = "".join('{% static "' + n + '" %}' for n in names)
            template = engines["django"].from_string("{% load static %}" + tags)
            render: Callable[[], object] = template.render
            render()
            self.timings["url"].append(per_call(urls, len(names)))
            self.timings["static"].append(per_call(render, len(names)))

    def best(self, key: str) -> float:
        return min(self.timings[key])


def collected_names(root: Path) -> list[str]:
    """The logical names collected into ``root`` (not the hashed copies, not manifests)."""
    manifest = root / "staticfiles.json"
    if manifest.exists():
        return sorted(json.loads(manifest.read_text())["paths"])
    return sorted(json.loads((root / "hashstore.json").read_text())["files"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="rounds per figure (best is kept)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hashstore-bench-url-") as tmp:
        work = Path(tmp)
        admin_static = configure(work)
        import django

        contenders = [
            Contender(
                "ManifestStaticFilesStorage",
                storages_setting("django.contrib.staticfiles.storage.ManifestStaticFilesStorage"),
                work / "django",
            ),
            Contender(
                "HashStoreStorage",
                storages_setting("hashstore.django.HashStoreStorage", target=str(work / "public")),
                work / "hashstore",
            ),
        ]
        # Rounds alternate between the storages, so both see the same machine.
        for _ in range(args.repeat):
            for contender in contenders:
                contender.time_round()
    django_run, hashstore_run = contenders
    if django_run.names != hashstore_run.names:
        print("warning: the two storages collected different files", file=sys.stderr)
    files = len(hashstore_run.names)
    results: dict[str, Any] = {}
    print(
        f"{files} files of {admin_static.relative_to(admin_static.parents[3])}, "
        f"Django {django.get_version()}, Python {platform.python_version()}, "
        f"best of {args.repeat}"
    )
    print(f"{'':16}{'Django manifest':>17}{'hashstore':>12}{'speed-up':>10}{'goal':>8}")
    missed = []
    for key, label in (("url", "storage.url()"), ("static", "{% static %}")):
        theirs, ours = django_run.best(key) * 1e6, hashstore_run.best(key) * 1e6
        ratio = theirs / ours
        ok = ratio >= GOALS[key]
        if not ok:
            missed.append(key)
        print(
            f"{label:16}{theirs:>14.2f} µs{ours:>9.2f} µs{ratio:>9.1f}x"
            f"{'>= ' + format(GOALS[key], 'g') + 'x':>8} {'ok' if ok else 'MISSED'}"
        )
        results[key] = {
            "django_us": round(theirs, 3),
            "hashstore_us": round(ours, 3),
            "speedup": round(ratio, 2),
            "goal": GOALS[key],
            "met": ok,
        }
    print(f"e.g. {django_run.example}  vs  {hashstore_run.example}")
    document = {
        "benchmark": "url",
        "command": "bench/url.py",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "django": django.get_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "files": files,
        "repeat": args.repeat,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results written to {args.json}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
