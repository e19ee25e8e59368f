"""`make demo`: publish the example static tree, then show the rolling-deploy race and its fix.

Part 1 publishes ``examples/static_site`` to a local directory and shows what a template gets.
Part 2 runs the rolling-deploy simulation (``examples/rolling_deploy``, explained in
``docs/rolling-deploys.md``): nginx as load balancer and CDN, app servers on v1 and v2 of the
Flask example, moto as S3, all on 127.0.0.1; it needs nginx (``scripts/ensure-nginx.sh``
installs Debian's package when it is absent).

Run from the repository root: ``.venv/bin/python examples/demo.py``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import rolling_deploy

from hashstore import Manifest, Settings, publish
from hashstore.errors import HashstoreError

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "demo"
ROLLING_OUT = ROOT / "build" / "rolling-deploy"


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


def rolling_deploy_race() -> int:
    print(
        "\n== 2. A rolling deploy behind a CDN: v1 -> v2 on 3 app servers, one at a time, "
        "under traffic"
    )
    print("   (nginx as load balancer and CDN, moto as S3, all on 127.0.0.1)")
    started = time.perf_counter()
    try:
        results = rolling_deploy.run_simulation(ROLLING_OUT, log=print)
    except rolling_deploy.SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\n{rolling_deploy.format_table(results)}\n")
    by_key = {c.scenario.key: c for c in results}
    classic, origin, hashed = by_key["A"], by_key["A+hashed"], by_key["B"]
    print(f"The first of scenario A's {len(classic.problems)} problems:")
    for line in classic.problems[:3]:
        print(f"  - {line}")
    outcome = (
        "gave every page exactly the bytes it referenced"
        if hashed.clean
        else "FAILED TOO: this is a bug, please report it"
    )
    print(
        f"\nCache busting with ?v=N gave pages of the new release old files "
        f"({classic.wrong_version}) and cached 404s ({classic.cached_404s}), query string in "
        f"the CDN's cache key or not, and hashed names served by the app servers gave cached "
        f"404s ({origin.cached_404s}), all kept for a year; hashstore, which puts v2 in the "
        f"bucket under new names before any server switches, {outcome}."
    )
    print(
        f"({time.perf_counter() - started:.1f}s; logs and nginx's config in "
        f"{ROLLING_OUT.relative_to(ROOT)}/; see docs/rolling-deploys.md)"
    )
    return 0 if hashed.clean else 1


if __name__ == "__main__":
    sys.exit(publish_example() or rolling_deploy_race())
