"""System checks (hashstore.E001...) and ``manage.py hashstore_check_templates``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .django_support import CDN, collectstatic, setup_django, site, storages

setup_django()

from django.core.checks import CheckMessage, run_checks  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402


def hashstore_checks(**kwargs: Any) -> list[CheckMessage]:
    return [m for m in run_checks(**kwargs) if m.id and m.id.startswith("hashstore.")]


def ids(messages: list[CheckMessage]) -> list[str]:
    return [m.id for m in messages if m.id is not None]


def publish(tmp_path: Path, **options: Any) -> dict[str, Any]:
    values = {"target": str(tmp_path / "public"), "base_url": CDN, **options}
    with site(tmp_path / "static", STORAGES=storages(**values)):
        collectstatic(verbosity=0)
    return values


def test_a_published_site_passes(tmp_path: Path) -> None:
    options = publish(tmp_path)
    with site(tmp_path / "static", STORAGES=storages(**options)):
        assert hashstore_checks() == []


def test_e001_invalid_option_is_named(tmp_path: Path) -> None:
    with site(tmp_path / "static", STORAGES=storages(target="s3://bucket/", jobs="lots")):
        (message,) = hashstore_checks()
    assert message.id == "hashstore.E001"
    assert message.is_serious()
    assert 'OPTIONS["jobs"]' in message.msg


def test_e001_each_invalid_option_is_its_own_message(tmp_path: Path) -> None:
    """The mistyped target, base_url and region of the issue, and a bad number: four errors,
    each naming its option, and collectstatic stops before collecting anything."""
    from django.core.management.base import SystemCheckError

    bad = storages(target="s3:/bucket/x", base_url="cdn.example.com/x/", region="eu west 1", jobs=0)
    with site(tmp_path / "static", STORAGES=bad):
        messages = hashstore_checks()
        with pytest.raises(SystemCheckError) as info:
            collectstatic(verbosity=0, skip_checks=False)
    assert ids(messages) == ["hashstore.E001"] * 4
    assert [m.msg.split(" = ")[0] for m in messages] == [
        'OPTIONS["target"]',
        'OPTIONS["base_url"]',
        'OPTIONS["region"]',
        'OPTIONS["jobs"]',
    ]
    assert "an S3 target is written s3://bucket/prefix/ (two slashes)" in messages[0].msg
    assert "did you mean 'https://cdn.example.com/x/'?" in messages[1].msg
    assert all("\n" not in m.msg and "settings are invalid" not in m.msg for m in messages)
    assert str(info.value).count("hashstore.E001") == 4
    assert not (tmp_path / "static").exists()  # nothing collected, no manifest
    assert not Path("s3:").exists()  # no folder named after the mistyped target


def test_e001_an_s3_only_option_with_a_directory_target(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": CDN, "endpoint_url": "http://x"}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        (message,) = hashstore_checks()
    assert message.id == "hashstore.E001"
    assert message.msg.startswith('OPTIONS["endpoint_url"] applies to S3 targets only')


def test_e007_no_static_root_stops_collectstatic(tmp_path: Path) -> None:
    from django.core.management.base import SystemCheckError

    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with site(tmp_path / "static", STORAGES=storages(**options), STATIC_ROOT=None):
        messages = hashstore_checks()
        with pytest.raises(SystemCheckError, match=r"hashstore\.E007"):
            collectstatic(verbosity=0, skip_checks=False)
    # Reported once, not also as a manifest missing from the current directory (E004).
    assert ids(messages) == ["hashstore.E007"]
    assert messages[0].msg.startswith("STATIC_ROOT is not set: collectstatic has nowhere")
    assert sorted(tmp_path.iterdir()) == []


def test_e001_prefix_without_bucket(tmp_path: Path) -> None:
    with site(tmp_path / "static", STORAGES=storages(prefix="static", base_url=CDN)):
        (message,) = hashstore_checks()
    assert message.id == "hashstore.E001"
    assert 'OPTIONS["bucket"]' in message.msg


def test_e001_runs_before_collectstatic(tmp_path: Path) -> None:
    from django.core.management.base import SystemCheckError

    with (
        site(tmp_path / "static", STORAGES=storages(target="s3://bucket/", jobs=0)),
        pytest.raises(SystemCheckError, match=r"hashstore\.E001"),
    ):
        collectstatic(verbosity=0, skip_checks=False)


def test_e002_no_target(tmp_path: Path) -> None:
    with site(tmp_path / "static", debug=True, STORAGES=storages(base_url=CDN)):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.E002"]
    assert 'OPTIONS["target"] is not set' in messages[0].msg


def test_e003_s3_target_without_base_url(tmp_path: Path) -> None:
    with site(tmp_path / "static", debug=True, STORAGES=storages(bucket="assets")):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.E003"]
    assert 'OPTIONS["base_url"] is not set' in messages[0].msg
    # An absolute STATIC_URL is a fine base_url.
    with site(tmp_path / "static", debug=True, STORAGES=storages(bucket="assets"), STATIC_URL=CDN):
        assert hashstore_checks() == []


def test_e004_no_manifest_without_debug(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with site(tmp_path / "static", debug=True, STORAGES=storages(**options)):
        assert hashstore_checks() == []
    with site(tmp_path / "static", debug=False, STORAGES=storages(**options)):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.E004"]
    assert str(tmp_path / "static" / "hashstore.json") in messages[0].msg


def test_e004_does_not_stop_collectstatic(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        assert ids(hashstore_checks()) == ["hashstore.E004"]
        collectstatic(verbosity=0, skip_checks=False)  # runs the staticfiles-tagged checks
    with site(tmp_path / "static", STORAGES=storages(**options)):
        assert hashstore_checks() == []


def test_e005_invalid_manifest(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hashstore.json").write_text('{"hashstore": 99}')
    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with site(tmp_path / "static", STORAGES=storages(**options)):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.E005"]
    assert "format version 99" in messages[0].msg


def test_e006_another_storage(tmp_path: Path) -> None:
    other = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with site(tmp_path / "static", STORAGES=other):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.E006"]
    assert "ManifestStaticFilesStorage" in messages[0].msg


def test_w001_manifest_for_another_base_url(tmp_path: Path) -> None:
    options = publish(tmp_path)
    moved = {**options, "base_url": "https://new-cdn.example.test/static/"}
    with site(tmp_path / "static", STORAGES=storages(**moved)):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.W001"]
    assert not messages[0].is_serious()
    assert CDN in messages[0].msg


def test_w002_app_after_staticfiles(tmp_path: Path) -> None:
    options = publish(tmp_path)
    apps = ["django.contrib.staticfiles", "hashstore.django", "blog", "shop"]
    with site(tmp_path / "static", STORAGES=storages(**options), INSTALLED_APPS=apps):
        messages = hashstore_checks()
    assert ids(messages) == ["hashstore.W002"]


# hashstore_check_templates


def check_templates(**options: Any) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("hashstore_check_templates", stdout=out, stderr=err, **options)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def test_check_templates_passes_for_the_example(tmp_path: Path) -> None:
    options = publish(tmp_path)
    with site(tmp_path / "static", STORAGES=storages(**options)):
        out, _ = check_templates()
    # With the Vite front end's {% entry_tags "src/main.js" %} in base.html.
    assert "Checked 3 template file(s): 11 asset name(s), all in manifest" in out


def test_check_templates_lists_each_missing_name_with_file_and_line(tmp_path: Path) -> None:
    options = publish(tmp_path)
    extra = tmp_path / "templates"
    (extra / "pages").mkdir(parents=True)
    (extra / "pages" / "about.html").write_text(
        "{% load static hashstore %}\n"
        "<link href=\"{% static 'site/css/site.css' %}\">\n"
        "{# {% static 'commented/out.css' %} #}\n"
        '{% asset_tag "blog/css/blgo.css" %}\n'
        "{% comment %}\n{% asset_url 'also/commented.png' %}\n{% endcomment %}\n"
        "{% static image_name %}\n"
        '<img src="{% asset_url "img/missing.png" %}">\n'
        '{% entry_tags "src/mian.js" %}{% entry_tags "src/main.js" %}\n'
    )
    jinja = tmp_path / "jinja"
    jinja.mkdir()
    (jinja / "mail.txt").write_text(
        'Logo: {{ asset_url("site/img/favicon.svg") }}\n\n{{ static("mail/logo.png") }}\n'
        '{{ entry_tags("src/main.js") }}\n'
    )
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(extra)],
            "APP_DIRS": True,
        },
        {
            "BACKEND": "django.template.backends.jinja2.Jinja2",
            "DIRS": [str(jinja)],
            "OPTIONS": {"environment": "hashstore.django.jinja2.environment"},
        },
    ]
    with (
        site(tmp_path / "static", STORAGES=storages(**options), TEMPLATES=templates),
        pytest.raises(CommandError) as caught,
    ):
        check_templates()
    message = str(caught.value)
    assert "4 asset name(s) in templates are not in manifest" in message
    lines = message.splitlines()
    about = str((extra / "pages" / "about.html").resolve())
    assert any(
        line.startswith(f"{about}:4: 'blog/css/blgo.css' is not in manifest")
        and "Did you mean 'blog/css/blog.css'" in line
        for line in lines
    )
    assert any(line.startswith(f"{about}:9: 'img/missing.png'") for line in lines)
    assert any(
        line.startswith(f"{about}:10: 'src/mian.js' is not an entry point")
        and "Did you mean 'src/main.js'" in line
        for line in lines
    )
    assert any(
        line.startswith(f"{(jinja / 'mail.txt').resolve()}:3: 'mail/logo.png'") for line in lines
    )
    assert "commented" not in message


def test_check_templates_without_a_manifest(tmp_path: Path) -> None:
    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with (
        site(tmp_path / "static", STORAGES=storages(**options)),
        pytest.raises(CommandError, match=r"does not exist: run `manage\.py collectstatic`"),
    ):
        check_templates()


def test_check_templates_with_an_invalid_manifest(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hashstore.json").write_text(json.dumps({"files": {}}))
    options = {"target": str(tmp_path / "public"), "base_url": CDN}
    with (
        site(tmp_path / "static", STORAGES=storages(**options)),
        pytest.raises(CommandError, match="not a hashstore manifest"),
    ):
        check_templates()
