"""A hashed key as the outside sees it: its URL, percent-encoded, and its integrity value.

Both the build (which writes keys into rewritten references) and the manifest (which turns keys
into URLs at runtime) use these, so they live below both: the pipeline's modules import
downwards only (``build`` never imports ``manifest``).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

__all__ = ["check_key", "integrity_of", "quote_path", "url_for_key"]

# Characters that stay as they are in a URL path; everything else (spaces, non-ASCII) is
# percent-encoded so the URL is valid and S3/CloudFront map it back to the key.
_URL_SAFE = "/-._~!$&'()*+,;=:@"


def check_key(key: str) -> str:
    """``key``, if it is safe to hand to a target: a key read from outside (a manifest, a release
    record, a pin) is checked with this before any target call uses it.

    A key is relative to the target's root, so it must stay there whatever the store makes of
    it: a directory joins it to a path, and S3 keys with these characters are no build's.

    :raises ValueError: it is empty, starts with ``/``, has a ``..`` segment, a backslash or a
        control character; the message says which.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"key {key!r} is not a non-empty string")
    if key.startswith("/"):
        raise ValueError(f"key {key!r} starts with '/'")
    if "\\" in key:
        raise ValueError(f"key {key!r} has a backslash")
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in key):
        raise ValueError(f"key {key!r} has a control character")
    if ".." in key.split("/"):
        raise ValueError(f"key {key!r} has a '..' segment")
    return key


def integrity_of(sha256_hex: str) -> str:
    """The Subresource Integrity value for a hex SHA-256 digest."""
    return "sha256-" + base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def quote_path(path: str) -> str:
    """Percent-encode a key or relative path for use in a URL (spaces, non-ASCII...)."""
    return quote(path, safe=_URL_SAFE)


def url_for_key(base_url: str, key: str) -> str:
    """The URL of a hashed key under ``base_url``, percent-encoded."""
    return base_url + quote_path(key)
