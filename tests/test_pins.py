"""Pins: a deploy declares its release live; prune never deletes it, verify checks it.

The history is made with :func:`publish_release` (records stamped with a given time); prune runs
with ``now`` given, so nothing here sleeps.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hashstore.cli import main
from hashstore.errors import ConfigError, ManifestError, TargetError
from hashstore.manifest import Manifest
from hashstore.pins import list_pins, pin_release, read_pin, unpin
from hashstore.publish import publish
from hashstore.retention import prune
from hashstore.settings import Settings
from hashstore.targets import Target, open_target, release_key
from hashstore.targets.base import PENDING_PREFIX, PINS_PREFIX, pin_key
from hashstore.targets.local import LocalTarget

from .helpers import make_tree, tree_bytes
from .test_releases import T0, publish_release, release_files, store  # noqa: F401
from .test_retention import Interleaved, keys_of, stored_keys

DAY = timedelta(days=1)


def history(settings: Settings, work: Path, count: int = 4) -> list[Manifest]:
    """``count`` releases, one a day from T0, oldest first."""
    return [
        publish_release(settings, release_files(n), work=work, at=T0 + n * DAY)
        for n in range(count)
    ]


def to_args(settings: Settings) -> list[str]:
    args = ["--to", settings.target]
    if settings.endpoint_url:
        args += ["--endpoint-url", settings.endpoint_url]
    return args


def test_prune_never_deletes_a_pinned_release_whatever_its_age_or_rank(
    store: Settings,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    releases = history(store, tmp_path)
    oldest, newest = releases[0], releases[-1]
    target = open_target(store)
    try:
        pin_release(target, "production", oldest.release)
        later = T0 + 400 * DAY
        report = prune(store, keep_releases=1, keep_days=0, dry_run=False, now=later, target=target)
        assert {r.id for r in report.plan.kept} == {oldest.release, newest.release}
        assert "pins honoured: production -> " + oldest.release in report.plan.lines()
        assert report.plan.reasons[oldest.release] == ("pinned as production",)
        # Every object of the pinned release (and of the newest) is still there; the others went.
        assert stored_keys(target) >= keys_of(oldest, newest) | {release_key(oldest.release)}
        assert not keys_of(*releases[1:3]) - keys_of(oldest, newest) & stored_keys(target)
        # Unpinned, the next prune drops it by the policy alone.
        assert unpin(target, "production") is not None
        report = prune(store, keep_releases=1, keep_days=0, dry_run=False, now=later, target=target)
        assert [r.id for r in report.plan.dropped] == [oldest.release]
        assert not (keys_of(oldest) - keys_of(newest)) & stored_keys(target)
    finally:
        target.close()


def test_weekly_production_deploys_survive_a_prune_of_daily_ci_builds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: CI publishes every commit, production deploys weekly. Five builds
    since, production's release is 8 days old and 6th newest: ``prune --keep-releases 5
    --keep-days 7 --yes`` would delete its changed objects; pinned, it deletes nothing."""
    settings = Settings(target=str(tmp_path / "bucket"))
    now = datetime.now(timezone.utc)
    production = publish_release(settings, release_files(0), work=tmp_path, at=now - 8 * DAY)
    builds = [
        publish_release(settings, release_files(n), work=tmp_path, at=now - (6 - n) * DAY)
        for n in range(1, 6)
    ]
    month_ago = (now - 30 * DAY).timestamp()
    for path in Path(settings.target).rglob("*"):
        os.utime(path, (month_ago, month_ago))  # every object is old enough to delete
    to = ["--to", str(settings.target)]
    prune_args = ["prune", *to, "--keep-releases", "5", "--keep-days", "7"]
    only_production = keys_of(production) - keys_of(*builds)
    assert only_production  # changed files: what an unpinned prune would delete

    assert main([*prune_args, "--json"]) == 0  # a dry run, unpinned
    plan = json.loads(capsys.readouterr().out)
    assert only_production <= set(plan["delete"]["keys"])

    assert main(["releases", "pin", "production", production.release, *to]) == 0
    before = published(Path(settings.target))
    assert main([*prune_args, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"pins honoured: production -> {production.release}" in out
    assert "kept (pinned as production)" in out
    assert published(Path(settings.target)) == before  # nothing deleted, nothing rewritten
    assert main(["verify", *to, "--release", production.release]) == 0


def published(root: Path) -> dict[str, bytes]:
    """Objects, release records and pins (not the pending markers a prune tidies)."""
    return {k: v for k, v in tree_bytes(root).items() if not k.startswith(PENDING_PREFIX)}


def test_prune_says_which_pins_it_honoured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    releases = history(settings, tmp_path, 3)
    to = ["--to", settings.target]
    assert main(["releases", "pin", "production", releases[0].release, *to]) == 0
    assert main(["releases", "pin", "staging", releases[1].release, *to]) == 0
    capsys.readouterr()
    assert main(["prune", *to, "--keep-releases", "1", "--keep-days", "0", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["pins"] == {"production": releases[0].release, "staging": releases[1].release}
    assert main(["prune", *to, "--keep-releases", "1", "--keep-days", "0"]) == 0
    out = capsys.readouterr().out
    assert (
        f"pins honoured: production -> {releases[0].release}, staging -> {releases[1].release}"
    ) in out
    assert "kept (pinned as staging)" in out


def test_a_pin_whose_release_has_no_record_stops_the_prune(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    releases = history(settings, tmp_path, 2)
    target = LocalTarget(Path(settings.target))
    pin_release(target, "production", releases[0].release)
    target.delete([release_key(releases[0].release)])  # by hand, outside hashstore
    before = stored_keys(target)
    with pytest.raises(ManifestError, match=f"pin production names release {releases[0].release}"):
        prune(settings, keep_releases=1, keep_days=0, dry_run=False, now=T0 + 9 * DAY)
    assert stored_keys(target) == before


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"pin": "production"}',
        b'{"release": "../../etc"}',
        b'{"release": "a/b"}',
        b'{"release": ".hidden"}',
        b'{"release": "x\\u0000y"}',
        b'{"release": 12}',
    ],
)
def test_a_damaged_pin_is_refused_before_its_release_is_read(tmp_path: Path, body: bytes) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    history(settings, tmp_path, 2)
    reads: list[str] = []

    class Reading(LocalTarget):
        def read(self, key: str) -> bytes:
            reads.append(key)
            return super().read(key)

    target = Reading(Path(settings.target))
    target.put_record(pin_key("production"), body)
    with pytest.raises(ManifestError, match=r"pin .*pins/production is damaged") as exc:
        prune(settings, keep_releases=1, keep_days=0, dry_run=False, target=target)
    assert "hashstore releases unpin production" in str(exc.value)
    assert not [key for key in reads if ".." in key or "etc" in key or key.endswith("a/b.json")]
    assert stored_keys(target) >= {release_key(r) for r in list_ids(target)}


def list_ids(target: Target) -> list[str]:
    return [
        info.key.rsplit("/", 1)[1].removesuffix(".json")
        for info in target.list_objects(".hashstore/releases/")
    ]


@pytest.mark.parametrize("name", ["", "a/b", "..", ".x", "x y", "p" * 65, "prod\n"])
def test_a_bad_pin_name_is_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    (release,) = history(settings, tmp_path, 1)
    target = LocalTarget(Path(settings.target))
    before = stored_keys(target)
    with pytest.raises(ConfigError, match=r"pin name .* is invalid"):
        pin_release(target, name, release.release)
    with pytest.raises(ConfigError, match=r"pin name .* is invalid"):
        publish(
            settings.with_changes(sources=(make_tree(tmp_path / "src", {"a.txt": "a"}),)),
            target=target,
            pins=[name],
        )
    assert stored_keys(target) == before


def test_pinning_a_release_that_is_not_there_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bucket"
    assert main(["releases", "pin", "production", "deadbeef", "--to", str(target)]) == 1
    err = capsys.readouterr().err
    assert "cannot pin production to release deadbeef" in err
    assert "hashstore releases" in err
    assert not (target / PINS_PREFIX).exists()


def test_publish_pin_pins_after_the_record_and_before_the_manifest(tmp_path: Path) -> None:
    order: list[str] = []

    class Recording(LocalTarget):
        def put_record(self, key: str, body: bytes) -> None:
            order.append(key.split("/")[1])
            super().put_record(key, body)

        def put_release(self, release: str, body: bytes) -> None:
            order.append("releases")
            super().put_release(release, body)

    src = make_tree(tmp_path / "src", {"css/a.css": "a{}"})
    settings = Settings(sources=(src,), target=str(tmp_path / "out"), manifest=tmp_path / "m.json")
    target = Recording(tmp_path / "out")
    report = publish(settings, target=target, pins=["production", "canary"])
    assert order[-3:] == ["releases", "pins", "pins"]
    assert report.pinned == ("production", "canary")
    assert "pinned as production, canary" in report.summary()
    pins = list_pins(target)
    assert {name: pin.release for name, pin in pins.items()} == {
        "production": report.manifest.release,
        "canary": report.manifest.release,
    }


def test_a_pin_that_cannot_be_written_leaves_the_manifest_unwritten(tmp_path: Path) -> None:
    class NoPins(LocalTarget):
        def put_record(self, key: str, body: bytes) -> None:
            if key.startswith(PINS_PREFIX):
                raise TargetError("PutObject refused", operation="PutObject", key=key)
            super().put_record(key, body)

    src = make_tree(tmp_path / "src", {"css/a.css": "a{}"})
    manifest = tmp_path / "m.json"
    settings = Settings(sources=(src,), target=str(tmp_path / "out"), manifest=manifest)
    with pytest.raises(TargetError):
        publish(settings, target=NoPins(tmp_path / "out"), pins=["production"])
    assert not manifest.exists()


def test_a_dry_run_pins_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": "a"})
    out = tmp_path / "out"
    assert main(["publish", str(src), "--to", str(out), "--pin", "production", "--dry-run"]) == 0
    assert not (out / PINS_PREFIX).exists()


def test_releases_shows_pins(
    store: Settings,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    releases = history(store, tmp_path, 2)
    to = to_args(store)
    assert main(["releases", "pin", "production", releases[0].release, *to]) == 0
    assert f"pinned production -> release {releases[0].release}" in capsys.readouterr().out
    assert main(["releases", *to]) == 0
    lines = capsys.readouterr().out.splitlines()
    (pinned,) = (line for line in lines if "pinned: production" in line)
    assert pinned.startswith(releases[0].release)
    assert lines[-1].startswith("2 release(s), 1 pin(s)")
    assert main(["releases", *to, "--json"]) == 0
    listed = {r["release"]: r["pins"] for r in json.loads(capsys.readouterr().out)}
    assert listed == {releases[0].release: ["production"], releases[1].release: []}
    assert main(["releases", "unpin", "production", *to]) == 0
    assert f"unpinned production (was release {releases[0].release})" in capsys.readouterr().out
    assert main(["releases", "unpin", "production", *to]) == 0
    assert "no pin production" in capsys.readouterr().out


def test_releases_warns_about_a_pin_without_its_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    releases = history(settings, tmp_path, 2)
    target = LocalTarget(Path(settings.target))
    pin_release(target, "production", releases[0].release)
    target.delete([release_key(releases[0].release)])
    assert main(["releases", "--to", settings.target]) == 0
    assert f"warning: pin production names release {releases[0].release}, which has no record" in (
        capsys.readouterr().err
    )


def test_verify_checks_pinned_releases_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    old, current = history(settings, tmp_path, 2)
    current.save(tmp_path / "current.json")
    to = ["--to", settings.target, "--manifest", str(tmp_path / "current.json")]
    assert main(["releases", "pin", "production", old.release, *to[:2]]) == 0
    capsys.readouterr()
    assert main(["verify", *to]) == 0
    out = capsys.readouterr().out
    assert "pinned as production: checked 5 object(s)" in out
    assert f"of release {old.release}" in out
    only_old = sorted(keys_of(old) - keys_of(current))[0]
    (tmp_path / "bucket" / only_old).unlink()
    assert main(["verify", *to]) == 1
    assert only_old in capsys.readouterr().out
    assert main(["verify", *to, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["release"] == current.release
    assert [p["pins"] for p in data["pinned"]] == [["production"]]
    assert [p["key"] for p in data["pinned"][0]["problems"]] == [only_old]
    assert main(["verify", *to, "--no-pins"]) == 0
    assert "pinned as" not in capsys.readouterr().out


def test_a_pin_set_while_a_prune_runs_spares_the_next_batch(tmp_path: Path) -> None:
    """A deploy pins an old release after a prune's plan: nothing of it is deleted, nor its
    record."""
    settings = Settings(target=str(tmp_path / "bucket"))
    releases = history(settings, tmp_path, 3)
    oldest = releases[0]
    inner = LocalTarget(Path(settings.target))
    target = Interleaved(
        inner, after_listing=lambda: pin_release(inner, "production", oldest.release)
    )
    report = prune(
        settings,
        keep_releases=1,
        keep_days=0,
        dry_run=False,
        now=T0 + 9 * DAY,
        target=target,  # type: ignore[arg-type]
    )
    assert oldest.release in report.late
    assert report.ok
    assert stored_keys(inner) >= keys_of(oldest) | {release_key(oldest.release)}
    assert set(report.spared) == keys_of(oldest) - keys_of(*releases[1:])
    assert report.records_deleted == (releases[1].release,)


def test_a_pin_set_during_the_last_batch_is_reported_damaged(tmp_path: Path) -> None:
    """Pinned while the batch that deletes its objects is in flight: the prune says which
    release lost what, and that publishing it again restores it."""
    settings = Settings(target=str(tmp_path / "bucket"))
    releases = history(settings, tmp_path, 3)
    oldest = releases[0]
    inner = LocalTarget(Path(settings.target))
    target = Interleaved(
        inner, before_delete=lambda: pin_release(inner, "production", oldest.release)
    )
    report = prune(
        settings,
        keep_releases=1,
        keep_days=0,
        dry_run=False,
        now=T0 + 9 * DAY,
        target=target,  # type: ignore[arg-type]
    )
    lost = keys_of(oldest) - keys_of(*releases[1:])
    assert set(report.damaged[oldest.release]) == lost
    assert stored_keys(inner) >= {release_key(oldest.release), pin_key("production")}
    assert any(f"error: release {oldest.release}" in line for line in report.lines())


def test_pin_release_checks_the_objects_when_a_prune_holds_its_lock(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    old, _new = history(settings, tmp_path, 2)
    target = LocalTarget(Path(settings.target))
    only_old = sorted(keys_of(old) - keys_of(_new))
    target.put_record(".hashstore/prune.lock", b"{}")
    target.delete(only_old[:1])  # what a prune that planned before the pin deleted
    with pytest.raises(ManifestError, match="a prune running meanwhile deleted 1 of its"):
        pin_release(target, "production", old.release)
    target.delete([".hashstore/prune.lock"])
    target.delete(only_old[1:2])
    pin_release(target, "production", old.release)  # no prune running: no listing of objects


def test_read_pin_returns_what_publish_wrote(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": "a"})
    settings = Settings(sources=(src,), target=str(tmp_path / "out"), manifest=tmp_path / "m.json")
    report = publish(settings, pins=["staging"])
    target = LocalTarget(tmp_path / "out")
    info = target.stat(pin_key("staging"))
    assert info is not None
    pin = read_pin(target, "staging", info)
    assert pin.release == report.manifest.release
    assert pin.pinned_at is not None
    assert pin.pinned_at.tzinfo is not None


@pytest.mark.flask
def test_flask_hashstore_pins(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    from .test_flask import flask_cli, make_app

    app = make_app(tmp_path / "site")
    result = flask_cli(app, "hashstore", "publish", "--pin", "production")
    assert result.exit_code == 0, result.output
    assert "pinned as production" in result.output
    release = Manifest.load(app.config["HASHSTORE_MANIFEST"]).release
    result = flask_cli(app, "hashstore", "releases")
    assert "pinned: production" in result.output
    result = flask_cli(app, "hashstore", "releases", "unpin", "production")
    assert result.exit_code == 0, result.output
    result = flask_cli(app, "hashstore", "releases", "pin", "staging", release)
    assert result.exit_code == 0, result.output
    pins = list_pins(LocalTarget(Path(app.config["HASHSTORE_TARGET"])))
    assert {name: pin.release for name, pin in pins.items()} == {"staging": release}


@pytest.mark.django
def test_django_collectstatic_pin_and_hashstore_pin(tmp_path: Path) -> None:
    pytest.importorskip("django")
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from .django_support import collectstatic, setup_django, site, storages

    setup_django()
    static_root, public = tmp_path / "static", tmp_path / "public"
    older = publish_release(Settings(target=str(public)), release_files(1), work=tmp_path, at=T0)
    with site(static_root, STORAGES=storages(target=str(public), base_url="/assets/")):
        result = collectstatic(pin=["production"])
        assert "pinned as production" in result.stdout
        current = Manifest.load(static_root / "hashstore.json")
        target = LocalTarget(public)
        assert {n: p.release for n, p in list_pins(target).items()} == {
            "production": current.release
        }
        out = StringIO()
        call_command("hashstore_pin", "staging", older.release, stdout=out)
        assert f"Pinned staging -> release {older.release}" in out.getvalue()
        out = StringIO()
        call_command("hashstore_pin", "canary", stdout=out)  # the manifest's release
        assert f"Pinned canary -> release {current.release}" in out.getvalue()
        call_command("hashstore_pin", "--unpin", "canary", stdout=StringIO())
        assert {n: p.release for n, p in list_pins(target).items()} == {
            "production": current.release,
            "staging": older.release,
        }
        with pytest.raises(CommandError, match="cannot pin staging to release nope"):
            call_command("hashstore_pin", "staging", "nope", stdout=StringIO())
        call_command(
            "hashstore_prune", "--keep-releases", "1", "--keep-days", "0", "--yes", stdout=out
        )
        assert f"pins honoured: production -> {current.release}, staging -> {older.release}" in (
            out.getvalue()
        )
    assert stored_keys(target) >= keys_of(older, current)
