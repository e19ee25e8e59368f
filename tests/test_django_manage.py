"""The example project's real ``manage.py`` in a subprocess: output and exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import django
import pytest

from .conftest import S3Bucket
from .django_support import CDN, EXAMPLE_NAMES, run_manage, sha256

S3_SETTINGS = "site_config.settings_s3"
N = len(EXAMPLE_NAMES)


def s3_env(bucket: S3Bucket, build: Path, **extra: str) -> dict[str, str]:
    return {
        "SITE_BUILD_DIR": str(build),
        "SITE_S3_BUCKET": bucket.name,
        "SITE_S3_PREFIX": bucket.prefix,
        "SITE_S3_ENDPOINT_URL": bucket.endpoint_url,
        "SITE_CDN_URL": CDN,
        **extra,
    }


def test_collectstatic_to_s3_reports_and_exits_zero(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    env = s3_env(s3_bucket, tmp_path)
    first = run_manage("collectstatic", "--noinput", settings=S3_SETTINGS, env=env)
    assert first.returncode == 0, first.stderr
    summary = [line for line in first.stdout.splitlines() if line.startswith("hashstore: ")]
    assert len(summary) == 1
    assert summary[0].startswith(f"hashstore: uploaded {N} new file(s) (")
    assert f"-> s3://{s3_bucket.name}/{s3_bucket.prefix}" in summary[0]
    assert f"{N} static files copied" in first.stdout

    import json

    manifest = json.loads((tmp_path / "static" / "hashstore.json").read_text())
    assert sorted(manifest["files"]) == sorted(EXAMPLE_NAMES)
    for entry in manifest["files"].values():
        assert sha256(s3_bucket.get(entry["key"])) == entry["sha256"]

    second = run_manage("collectstatic", "--noinput", "-v", "2", settings=S3_SETTINGS, env=env)
    assert second.returncode == 0, second.stderr
    assert f"hashstore: uploaded 0 new file(s) (0 B), {N} already present" in second.stdout
    assert "Uploaded '" not in second.stdout

    checked = run_manage("hashstore_check_templates", settings=S3_SETTINGS, env=env)
    assert checked.returncode == 0, checked.stderr
    assert "11 asset name(s), all in manifest" in checked.stdout


def test_verbosity_2_lists_each_upload(tmp_path: Path) -> None:
    result = run_manage(
        "collectstatic", "--noinput", "-v", "2", env={"SITE_BUILD_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    uploads = [line for line in result.stdout.splitlines() if line.startswith("Uploaded '")]
    assert len(uploads) == N
    assert f"hashstore: manifest written to {tmp_path / 'static' / 'hashstore.json'}" in (
        result.stdout
    )


def test_a_failed_publish_exits_non_zero_with_the_core_message(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    env = s3_env(s3_bucket, tmp_path, SITE_S3_BUCKET=s3_bucket.name + "-missing")
    result = run_manage("collectstatic", "--noinput", settings=S3_SETTINGS, env=env)
    assert result.returncode == 1
    assert "CommandError: hashstore: " in result.stderr
    assert s3_bucket.name + "-missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "static" / "hashstore.json").exists()


def test_check_fails_without_a_manifest_when_debug_is_off(tmp_path: Path) -> None:
    env = {"SITE_BUILD_DIR": str(tmp_path), "SITE_DEBUG": "0"}
    result = run_manage("check", env=env)
    assert result.returncode == 1
    assert "hashstore.E004" in result.stderr
    assert run_manage("collectstatic", "--noinput", "-v", "0", env=env).returncode == 0
    assert run_manage("check", env=env).returncode == 0


@pytest.mark.skipif(django.VERSION >= (5, 1), reason="STATICFILES_STORAGE was removed in 5.1")
def test_legacy_staticfiles_storage_with_the_hashstore_setting(tmp_path: Path) -> None:
    (tmp_path / "legacy_settings.py").write_text(
        "from site_config.settings import *\n"
        "del STORAGES\n"
        'STATICFILES_STORAGE = "hashstore.django.HashStoreStorage"\n'
        f'HASHSTORE = {{"target": {str(tmp_path / "public")!r}, "base_url": "/assets/"}}\n'
    )
    env = {
        "SITE_BUILD_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    result = run_manage(
        "collectstatic",
        "--noinput",
        settings="legacy_settings",
        env=env,
        # Django 4.2 warns that STATICFILES_STORAGE is deprecated.
        warnings=("error", "ignore::DeprecationWarning", "ignore::PendingDeprecationWarning"),
    )
    assert result.returncode == 0, result.stderr
    assert f"hashstore: uploaded {N} new file(s)" in result.stdout
    assert (tmp_path / "static" / "hashstore.json").is_file()


@pytest.mark.parametrize("command", ["hashstore_verify", "hashstore_prune"])
def test_help_shows_the_storages_defaults(command: str, tmp_path: Path) -> None:
    result = run_manage(command, "--help", env={"SITE_BUILD_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = "".join(result.stdout.split())  # argparse wraps long paths at their hyphens
    assert f"--toTARGETs3://bucket/prefix/oradirectory(default:{tmp_path}/assets)" in out
    if command == "hashstore_verify":
        assert f"manifestfile(default:{tmp_path}/static/hashstore.json)" in out
        assert "(default:hashstore.json)" not in out
