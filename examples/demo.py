"""`make demo`: publish the example static tree and show what a template would get.

Run from the repository root: ``.venv/bin/python examples/demo.py``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from hashstore import Manifest, Settings, publish
from hashstore.errors import HashstoreError

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "demo"


def publish_example() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    settings = Settings(
        sources=(ROOT / "examples" / "static_site",),
        target=str(OUT / "bucket"),
        manifest=OUT / "hashstore.json",
        base_url="https://cdn.example.com/static/",
    )
    print("== 1. Publish examples/static_site to a local directory (as it would go to S3)")
    try:
        report = publish(settings)
    except HashstoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    manifest = Manifest.load(settings.manifest)
    print(f"\n{len(manifest)} manifest entries, for example:")
    for name in ("css/app.css", "css/base.css", "img/logo.svg", "js/app.js"):
        print(f"  {name:<14} -> {manifest.url(name)}")
        print(f"  {'':<14}    integrity {manifest.integrity(name)}")
    app_css = (OUT / "bucket" / manifest["css/app.css"].key).read_text()
    print("\ncss/app.css as published (references rewritten to hashed names):")
    for line in app_css.splitlines():
        print(f"  | {line}")
    print("\nPublishing again uploads nothing:")
    print(publish(settings).summary())
    return 0


if __name__ == "__main__":
    sys.exit(publish_example())
