from __future__ import annotations

from pathlib import Path

import pytest

from hashstore.errors import ConfigError
from hashstore.settings import DEFAULT_CACHE_CONTROL, Settings
from hashstore.spelling import Spelling


class _Keys(Spelling):
    def name(self, field: str) -> str:
        return f"HASHSTORE_{field.upper()}"


_HASHSTORE_KEYS = _Keys()


def test_defaults_are_safe() -> None:
    s = Settings()
    assert s.cache_control == DEFAULT_CACHE_CONTROL == "public, max-age=31536000, immutable"
    assert s.acl is None
    assert s.conditional_writes is True
    assert s.checksum == "sha256"
    assert s.jobs == 32
    assert s.ignore == ("CVS", ".*", "*~")


def test_from_mapping_converts_text_values() -> None:
    s = Settings.from_mapping(
        {
            "target": "s3://bucket/static",
            "jobs": "8",
            "strict": "true",
            "conditional_writes": "no",
            "ignore": "*.scss, *.less",
            "sources": ["a", ("vendor", "b")],
            "manifest": "out/m.json",
            "object_parameters": '{"*.pdf": {"ContentDisposition": "attachment"}}',
        }
    )
    assert s.jobs == 8
    assert s.strict is True
    assert s.conditional_writes is False
    assert s.ignore == ("*.scss", "*.less")
    assert s.sources == (Path("a"), ("vendor", Path("b")))
    assert s.manifest == Path("out/m.json")
    assert s.object_parameters["*.pdf"]["ContentDisposition"] == "attachment"
    assert s.is_s3


def test_base_url_always_ends_with_a_slash() -> None:
    assert Settings(base_url="https://cdn.example.com/static").base_url == (
        "https://cdn.example.com/static/"
    )


def test_root_url_path_comes_from_a_path_only_base_url() -> None:
    assert Settings(base_url="/assets/").root_url_path == "/assets/"
    assert Settings(base_url="https://cdn.example.com/x/").root_url_path == "/static/"
    assert Settings(base_url="https://cdn/x/", static_url_path="/s/").root_url_path == "/s/"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"jobs": "0"}, "HASHSTORE_JOBS = 0 is invalid: a whole number from 1 to 512"),
        ({"jobs": "many"}, "HASHSTORE_JOBS = 'many' is invalid: a whole number"),
        ({"hash_length": 4}, "HASHSTORE_HASH_LENGTH = 4 is invalid"),
        ({"strict": "maybe"}, "HASHSTORE_STRICT = 'maybe' is invalid: true or false"),
        ({"checksum": "crc"}, "HASHSTORE_CHECKSUM = 'crc' is invalid"),
        ({"target": "s3://"}, "HASHSTORE_TARGET = 's3://' is invalid: the bucket name"),
        ({"target": "gs://bucket/x"}, "only s3:// URLs and local directories"),
        ({"release": "a b"}, "HASHSTORE_RELEASE = 'a b' is invalid"),
        ({"hashed_pattern": "("}, "HASHSTORE_HASHED_PATTERN = '(' is invalid"),
        ({"bucket": "x"}, "unknown option(s) HASHSTORE_BUCKET; allowed: HASHSTORE_TARGET"),
    ],
)
def test_invalid_values_name_the_option_as_the_user_spells_it(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping(values, spelling=_HASHSTORE_KEYS)
    assert message in str(info.value)


def test_base_settings_are_overridden_not_replaced() -> None:
    base = Settings(target="out", base_url="/assets/", jobs=4)
    s = Settings.from_mapping({"jobs": 2}, base=base)
    assert (s.target, s.base_url, s.jobs) == ("out", "/assets/", 2)


def test_every_field_is_documented() -> None:
    import dataclasses

    for f in dataclasses.fields(Settings):
        assert f.metadata.get("doc"), f"Settings.{f.name} has no doc"
