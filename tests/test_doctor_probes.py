"""``hashstore doctor``'s capability probes, measured on moto and on radosgw (``make test-rgw``).

What each store honours is a fact of that store, so it is written down here per store and the
probes must find exactly that; a store answering an API strangely must be reported, never crash
``doctor``. The probe record then changes what publish does with multipart uploads.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from hashstore.cli import main
from hashstore.doctor import doctor
from hashstore.publish import publish
from hashstore.settings import MIB
from hashstore.targets.capabilities import CAPABILITIES, CAPABILITIES_KEY
from hashstore.targets.s3 import S3Target

from .conftest import STORE, S3Bucket
from .s3proxy import S3Proxy

pytestmark = pytest.mark.skipif(STORE == "real", reason="only moto's and radosgw's are known")

HONOURED: dict[str, dict[str, bool | None]] = {
    "moto": {
        "conditional-put": True,
        "conditional-complete": True,
        "checksum-enforced": False,  # moto 5 stores a body whatever its checksum says
        "md5-enforced": False,
        "head-checksums": True,
        "etag-md5": True,
        "ownership-controls": True,
        "cors": True,
        "lifecycle": True,
    },
    "radosgw": {  # Ceph 16.2.15 (Pacific)
        "conditional-put": True,
        "conditional-complete": False,  # completes over an existing key
        "checksum-enforced": False,
        "md5-enforced": True,  # so checksum = "md5" is its setting
        "head-checksums": False,
        "etag-md5": True,
        "ownership-controls": False,  # 200 with an empty <OwnershipControls/>
        "cors": True,
        "lifecycle": True,
    },
}


def test_the_manuals_table_gives_what_doctor_measured() -> None:
    """docs/s3-compatible.md's moto and radosgw columns are these measurements, cell by cell."""
    doc = (Path(__file__).parent.parent / "docs" / "s3-compatible.md").read_text()
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Capability"))
    end = lines.index("", start)
    header, rows = lines[start], lines[start + 2 : end]
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    said = {"yes": True, "no": False}
    table: dict[str, dict[str, bool | None]] = {"moto": {}, "radosgw": {}}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        name = cells[0].rsplit("(`", 1)[1].rstrip("`)")
        for store, column in (("moto", "moto 5"), ("radosgw", "radosgw 16.2")):
            word = cells[columns.index(column)].strip("*").split(":")[0].split()[0].strip("*")
            table[store][name] = said[word]
    assert table == HONOURED


def test_doctor_finds_what_the_store_honours(
    s3_bucket: S3Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--to", s3_bucket.target, "--endpoint-url", s3_bucket.endpoint_url])
    out = capsys.readouterr().out
    assert code == 1  # neither store enforces checksums: a problem
    table = out[out.index("capability ") :].splitlines()
    said = {True: "yes", False: "NO", None: "unknown"}
    for line, (name, honoured) in zip(table[1:], HONOURED[STORE].items(), strict=False):
        assert line.split()[:2] == [name, said[honoured]], line
    assert "Traceback" not in out

    record = json.loads(s3_bucket.get(CAPABILITIES_KEY))
    assert record["honoured"] == HONOURED[STORE]
    probed_at = datetime.fromisoformat(record["probed_at"])
    assert abs(datetime.now(timezone.utc) - probed_at) < timedelta(minutes=10)
    stored = s3_bucket.keys()
    assert [key for key in stored if key.startswith(".hashstore/probe/")] == []
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


def test_the_json_report_lists_every_capability(
    s3_bucket: S3Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["doctor", "--to", s3_bucket.target, "--endpoint-url", s3_bucket.endpoint_url]
    main([*args, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert [c["capability"] for c in report["capabilities"]] == list(CAPABILITIES)
    found = {f["check"]: f for f in report["findings"]}
    if STORE == "radosgw":
        assert found["multipart"]["status"] == "ok"
        assert (
            "ignores If-None-Match: * on CompleteMultipartUpload" in found["multipart"]["message"]
        )
        assert found["ownership"]["status"] == "skipped"
        assert "without any rule" in found["ownership"]["message"]
    else:
        assert (
            "completing over an existing key got PreconditionFailed"
            in (found["multipart"]["message"])
        )


def _answer(parsed: dict[str, Any]) -> Any:
    """A botocore before-call hook answering 200 with ``parsed``, as a store would."""

    def hook(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        http = AWSResponse("http://store/", 200, {}, None)
        return http, {"ResponseMetadata": {"HTTPStatusCode": 200}, **parsed}

    return hook


@pytest.mark.parametrize(
    ("operation", "parsed", "check", "capability"),
    [
        # radosgw 16.2's answer, as botocore parses it (today's KeyError: 'Rules').
        ("GetBucketOwnershipControls", {"OwnershipControls": {}}, "ownership", False),
        ("GetBucketOwnershipControls", {}, "ownership", False),
        ("GetBucketOwnershipControls", {"OwnershipControls": {"Rules": [{}]}}, "ownership", False),
        ("GetPublicAccessBlock", {}, "public-access", None),
        ("GetBucketCors", {"CORSRules": [{"AllowedOrigins": None}, "junk"]}, "cors", True),
        ("GetBucketLifecycleConfiguration", {"Rules": ["junk", {}]}, None, True),
    ],
)
def test_odd_answers_are_reported_never_raised(
    operation: str,
    parsed: dict[str, Any],
    check: str | None,
    capability: bool | None,
    s3_bucket: S3Bucket,
) -> None:
    settings = s3_bucket.settings()
    with S3Target(settings) as target:
        target.client.meta.events.register(f"before-call.s3.{operation}", _answer(parsed))
        report = doctor(settings, target=target, probe=False)
    statuses = {f.check: f.status for f in report.findings}
    if check is not None:
        assert statuses[check] in {"skipped", "problem"}
    name = {
        "GetBucketOwnershipControls": "ownership-controls",
        "GetBucketCors": "cors",
        "GetBucketLifecycleConfiguration": "lifecycle",
    }.get(operation)
    if name is not None:
        assert report.honoured()[name] is capability


def test_apis_the_store_does_not_implement_are_capabilities_it_lacks(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy
) -> None:
    s3_proxy.inject(501, "NotImplemented", operation="GetBucketLifecycle")
    s3_proxy.inject(501, "NotImplemented", operation="CompleteMultipartUpload")
    report = doctor(s3_bucket.settings(endpoint_url=s3_proxy.url))
    assert report.honoured()["lifecycle"] is False
    assert report.honoured()["conditional-complete"] is False
    found = {f.check: f for f in report.findings}
    assert found["multipart"].status == "problem"  # every multipart upload would fail
    assert "conditional_writes = false" in found["multipart"].fix
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


def test_denied_probes_are_unknown_and_nothing_is_recorded(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy
) -> None:
    s3_proxy.inject(403, "AccessDenied", operation="PutObject", times=None)
    report = doctor(s3_bucket.settings(endpoint_url=s3_proxy.url))
    honoured = report.honoured()
    for name in ("conditional-put", "checksum-enforced", "conditional-complete"):
        assert honoured[name] is None
    found = {f.check: f for f in report.findings}
    assert found["record"].status == "skipped"
    stored = s3_bucket.keys()
    assert CAPABILITIES_KEY not in stored


def test_publish_after_doctor_guards_multipart_uploads_only_where_needed(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    doctor(s3_bucket.settings())
    source = tmp_path / "src"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(6 * MIB))
    (source / "small.css").write_text("body { color: red }\n")
    settings = s3_bucket.settings(
        sources=(source,),
        manifest=tmp_path / "hashstore.json",
        endpoint_url=s3_proxy.url,
        multipart_threshold=5 * MIB,
        multipart_chunksize=5 * MIB,
    )
    report = publish(settings)

    assert sorted(report.uploaded) == ["big.bin", "small.css"]
    guarded = not HONOURED[STORE]["conditional-complete"]
    assert s3_proxy.operations["HeadObject"] == (2 if guarded else 0)  # per multipart file
    assert s3_proxy.operations["GetObject"] == 1  # the probe record, once
    [note] = report.store_notes  # neither store enforces checksums
    assert "does not enforce checksums (hashstore doctor, " in note
    assert "hashstore verify --deep" in note
    assert report.summary().endswith(f"\nnote: {note}")
