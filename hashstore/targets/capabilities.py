"""What an S3-compatible store honours, as ``hashstore doctor`` measured it: the probe record.

Not every store that speaks the S3 API does what AWS does. Ceph's radosgw (16.2, Pacific), for
one, honours ``If-None-Match: *`` on ``PutObject`` but ignores it on
``CompleteMultipartUpload``, and accepts a body whose ``x-amz-checksum-sha256`` is wrong.
``hashstore doctor`` probes the target (:mod:`hashstore.probes`) and records the answers once,
with their date, in ``<prefix>.hashstore/capabilities.json``; the S3 target reads that record to
decide how to keep uploads create-only (:class:`~.s3_multipart.MultipartUploader`).

A capability is honoured (``True``), not honoured (``False``) or unknown (``None``: the probe
was denied, or the store's answer said neither).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["CAPABILITIES", "CAPABILITIES_KEY", "Capabilities"]

CAPABILITIES_KEY = ".hashstore/capabilities.json"
"""Where ``hashstore doctor`` records what the store honours, relative to the target's root."""

CAPABILITIES: Mapping[str, str] = {
    "conditional-put": "PutObject with If-None-Match: * is refused (412) when the key exists",
    "conditional-complete": (
        "CompleteMultipartUpload with If-None-Match: * is refused (412) when the key exists"
    ),
    "checksum-enforced": "a PutObject whose x-amz-checksum-sha256 is wrong is refused",
    "md5-enforced": "a PutObject whose Content-MD5 is wrong is refused",
    "head-checksums": "HeadObject returns the SHA-256 sent with the upload",
    "etag-md5": "a single-request upload's ETag is the MD5 of its bytes",
    "ownership-controls": "GetBucketOwnershipControls answers with its rules",
    "cors": "GetBucketCors answers (a configuration, or NoSuchCORSConfiguration)",
    "lifecycle": (
        "GetBucketLifecycleConfiguration answers (a configuration, or NoSuchLifecycleConfiguration)"
    ),
}
"""Every capability ``doctor`` probes, with what "honoured" means, in the order it reports."""


@dataclass(frozen=True)
class Capabilities:
    """The probe record: what a store honoured, when, at which endpoint.

    .. versionadded:: 0.2
    """

    probed_at: datetime
    endpoint: str
    honoured: Mapping[str, bool | None] = field(default_factory=dict)

    def get(self, name: str) -> bool | None:
        """``True``, ``False``, or ``None`` when unknown (or never probed)."""
        return self.honoured.get(name)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "hashstore_capabilities": 1,
            "probed_at": self.probed_at.isoformat(timespec="seconds"),
            "endpoint": self.endpoint,
            "honoured": {name: self.honoured.get(name) for name in CAPABILITIES},
        }
        return json.dumps(data, indent=2, sort_keys=False).encode() + b"\n"

    @classmethod
    def from_json(cls, body: bytes) -> Capabilities | None:
        """The record in ``body``, or ``None`` if it is not one (damaged, or from elsewhere):
        the caller then treats every capability as unknown."""
        try:
            data = json.loads(body)
            honoured = data["honoured"]
            probed_at = datetime.fromisoformat(data["probed_at"])
            endpoint = str(data.get("endpoint", ""))
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(honoured, dict):
            return None
        return cls(
            probed_at=probed_at,
            endpoint=endpoint,
            honoured={
                str(name): value
                for name, value in honoured.items()
                if value is None or isinstance(value, bool)
            },
        )
