"""What a HeadObject answer proves about a kept name's bytes (the cases moto cannot produce).

The integration tests (tests/test_kept_names.py) show the listing's ETag deciding, an object
stored in other parts being read, and a whole SHA-256 deciding against moto. Real S3 also
answers with composite checksums that carry their part count, and with ETags that are no MD5
(SSE-KMS); those answers are built here from the S3 documentation's formulas.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from hashstore.build import BuiltFile
from hashstore.targets.s3_etag import checksum_verdict, composite_sha256, expected_etag

MIB = 1024 * 1024


def _file(tmp_path: Path, data: bytes) -> BuiltFile:
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    return BuiltFile("f.bin", "f.bin", hashlib.sha256(data).hexdigest(), len(data), path)


def _composite(pieces: list[bytes]) -> str:
    joined = b"".join(hashlib.sha256(p).digest() for p in pieces)
    return base64.b64encode(hashlib.sha256(joined).digest()).decode() + f"-{len(pieces)}"


DATA = bytes(range(256)) * (11 * MIB // 256)


def test_expected_etag_is_the_md5_or_the_md5_of_the_parts_md5s(tmp_path: Path) -> None:
    small = _file(tmp_path, b"a{color:red}")
    assert expected_etag(small, multipart_threshold=5 * MIB, part_size=5 * MIB) == (
        hashlib.md5(b"a{color:red}").hexdigest()
    )
    big = _file(tmp_path, DATA)
    parts = [DATA[: 6 * MIB], DATA[6 * MIB :]]
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert expected_etag(big, multipart_threshold=6 * MIB, part_size=6 * MIB) == (
        hashlib.md5(md5s).hexdigest() + "-2"
    )


def test_a_whole_sha256_decides(tmp_path: Path) -> None:
    f = _file(tmp_path, b"a{color:tan}")
    ours = base64.b64encode(bytes.fromhex(f.digest)).decode()
    theirs = base64.b64encode(hashlib.sha256(b"a{color:red}").digest()).decode()
    assert checksum_verdict(f, {"ChecksumSHA256": ours, "ETag": '"x"'}, 5 * MIB) is True
    assert checksum_verdict(f, {"ChecksumSHA256": theirs, "ETag": '"x"'}, 5 * MIB) is False
    assert checksum_verdict(f, {"ETag": '"x"'}, 5 * MIB) is None


@pytest.mark.parametrize("suffix", [True, False], ids=["with-part-count", "count-in-etag"])
def test_a_composite_sha256_of_our_parts_proves_the_same_bytes(
    tmp_path: Path, suffix: bool
) -> None:
    f = _file(tmp_path, DATA)
    value = _composite([DATA[: 6 * MIB], DATA[6 * MIB :]])
    assert composite_sha256(f, 6 * MIB) == value
    head = {
        "ChecksumSHA256": value if suffix else value.rsplit("-", 1)[0],
        "ChecksumType": "COMPOSITE" if suffix else None,
        "ETag": '"0123456789abcdef0123456789abcdef-2"',  # under SSE-KMS: no MD5 of anything
    }
    assert checksum_verdict(f, head, 6 * MIB) is True


def test_a_composite_sha256_of_other_parts_cannot_decide(tmp_path: Path) -> None:
    f = _file(tmp_path, DATA)
    half = len(DATA) // 2
    same_count = {"ChecksumSHA256": _composite([DATA[:half], DATA[half:]]), "ETag": '"e-2"'}
    assert checksum_verdict(f, same_count, 6 * MIB) is None
    thirds = [DATA[: 4 * MIB], DATA[4 * MIB : 8 * MIB], DATA[8 * MIB :]]
    other_count = {"ChecksumSHA256": _composite(thirds), "ETag": '"e-3"'}
    assert checksum_verdict(f, other_count, 6 * MIB) is None
    changed = bytearray(DATA)
    changed[1] ^= 1
    ours_but_changed = _composite([bytes(changed[: 6 * MIB]), bytes(changed[6 * MIB :])])
    # Not proof of other bytes either: the object is read (the integration tests show it).
    assert checksum_verdict(f, {"ChecksumSHA256": ours_but_changed}, 6 * MIB) is None
