"""Django for the tests: the example project, configured once per process, varied per test.

Django can be configured once per process, and the suite runs Django, Flask and core tests in
the same (xdist) workers. So the Django tests configure the example project
(``examples/django_site``, settings ``site_config.settings``) the first time one of them runs,
and each test changes what it needs with ``override_settings`` (``STATIC_ROOT``, ``STORAGES``,
``DEBUG``...), which also makes Django drop its cached staticfiles storage. Tests of what
``manage.py`` itself prints and returns run it in a subprocess (:func:`run_manage`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

# A test that uses this module is skipped, with the reason, where Django is not installed.
pytest.importorskip("django", reason="needs Django, which is not installed")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "django_site"
CDN = "https://cdn.example.test/static/"

EXAMPLE_NAMES = (
    "blog/css/blog.css",
    "blog/img/header.png",
    "blog/js/blog.js",
    "frontend/assets/bolt-BziJlQGM.svg",
    "frontend/assets/main-6SeIhNJK.js",
    "frontend/assets/main-CHLZhP59.css",
    "frontend/manifest.json",
    "shop/css/shop.css",
    "shop/fonts/price.woff2",
    "shop/img/cart.svg",
    "shop/js/cart.mjs",
    "site/css/site.css",
    "site/css/typography.css",
    "site/fonts/inter.woff",
    "site/fonts/inter.woff2",
    "site/img/favicon.svg",
    "site/js/site.js",
)
"""Every static file of the example project."""


def setup_django() -> None:
    """Configure Django with the example project's settings, once per process."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "site_config.settings"
    django.setup()


def storages(**options: Any) -> dict[str, Any]:
    """A ``STORAGES`` setting with HashStoreStorage and these ``OPTIONS``."""
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "hashstore.django.HashStoreStorage", "OPTIONS": options},
    }


@contextmanager
def site(static_root: Path, *, debug: bool = False, **changes: Any) -> Iterator[None]:
    """The example project collecting into ``static_root``, with more settings changed."""
    import django
    from django.test.utils import override_settings

    values: dict[str, Any] = {
        "STATIC_ROOT": str(static_root),
        "DEBUG": debug,
        "ALLOWED_HOSTS": ["testserver"],
    }
    values.update(changes)
    with override_settings(**values):
        if "STORAGES" in values and django.VERSION < (5, 1):
            # Django 4.2's override_settings(STORAGES=...) also sets STATICFILES_STORAGE, and
            # its storage handler then rebuilds the "staticfiles" entry without OPTIONS.
            from django.core.files.storage import storages as handler

            handler._backends = dict(values["STORAGES"])
        yield


@dataclass
class Output:
    stdout: str
    stderr: str

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(prefix)]


def collectstatic(**options: Any) -> Output:
    """``call_command("collectstatic", interactive=False, ...)``, with its output."""
    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("collectstatic", interactive=False, stdout=out, stderr=err, **options)
    return Output(out.getvalue(), err.getvalue())


def run_manage(
    *args: str,
    settings: str = "site_config.settings",
    env: Mapping[str, str] | None = None,
    warnings: tuple[str, ...] = ("error",),
) -> subprocess.CompletedProcess[str]:
    """``python -W error manage.py ARGS`` of the example project in a subprocess."""
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *(f"-W{w}" for w in warnings), "manage.py", *args],
        cwd=EXAMPLE,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Tag:
    name: str
    attrs: dict[str, str | None]


@dataclass
class _Tags(HTMLParser):
    found: list[Tag] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(Tag(tag, dict(attrs)))


def asset_tags(html: str) -> list[Tag]:
    """Every element of a page that loads something (``href`` or ``src``), in order."""
    parser = _Tags()
    parser.feed(html)
    return [t for t in parser.found if t.attrs.get("href") or t.attrs.get("src")]


def asset_url_of(tag: Tag) -> str:
    value = tag.attrs.get("href") or tag.attrs.get("src")
    assert value is not None
    return value


def key_of(url: str, base_url: str) -> str:
    """The hashed key a URL under ``base_url`` names."""
    assert url.startswith(base_url), f"{url} is not under {base_url}"
    return unquote(url[len(base_url) :])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
