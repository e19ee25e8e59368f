"""Two releases of the Flask example app, v1 and v2, as two checkouts a deploy would ship.

Each release is a copy of ``examples/flask_app`` in a directory of its own. They differ as a
real release does:

- ``css/app.css`` and ``js/app.js`` change: each ends (CSS) or starts (JS) with a marker naming
  its release, ``--hashstore-release`` on ``:root`` and ``window.hashstoreRelease``, so a
  browser can tell which release's file it applied;
- v2 adds a file, ``js/new.js``, and its base template loads it, so a v1 server asked for it
  answers 404: the file every rolling deploy of a new feature adds.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent
FLASK_APP = EXAMPLES / "flask_app"
NEW_FILE = "js/new.js"
"""The file only v2 has."""


@dataclass(frozen=True)
class Release:
    """One release: a directory holding its copy of the ``flask_app`` package."""

    name: str
    number: int
    root: Path

    @property
    def app_dir(self) -> Path:
        return self.root / "flask_app"

    @property
    def static_dir(self) -> Path:
        return self.app_dir / "static"


def make_releases(workdir: Path) -> tuple[Release, Release]:
    """Write releases v1 and v2 of the example app under ``workdir``."""
    return _make(workdir, "v1", 1), _make(workdir, "v2", 2)


def _make(workdir: Path, name: str, number: int) -> Release:
    release = Release(name, number, workdir / "releases" / name)
    shutil.rmtree(release.root, ignore_errors=True)
    shutil.copytree(FLASK_APP, release.app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    css = release.static_dir / "css" / "app.css"
    css.write_text(
        css.read_text() + f'\n/* release {name} */\n:root {{ --hashstore-release: "{name}"; }}\n'
    )
    js = release.static_dir / "js" / "app.js"
    # First line, so that the sourceMappingURL comment stays the last one.
    js.write_text(f'window.hashstoreRelease = "{name}";\n' + js.read_text())
    if number >= 2:
        new = release.static_dir / NEW_FILE
        new.write_text(f'window.hashstoreNewFeature = "{name}";\n')
        base = release.app_dir / "templates" / "base.html"
        text = base.read_text()
        if "</head>" not in text:
            raise RuntimeError(f"{base} has no </head>: cannot add the tag of {NEW_FILE}")
        tag = f"  {{{{ asset_tag('{NEW_FILE}', defer=True) }}}}\n</head>"
        base.write_text(text.replace("</head>", tag, 1))
    return release
