"""A hashed key as the outside sees it: its URL, percent-encoded, and its integrity value.

Both the build (which writes keys into rewritten references) and the manifest (which turns keys
into URLs at runtime) use these, so they live below both: the pipeline's modules import
downwards only (``build`` never imports ``manifest``).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

__all__ = ["integrity_of", "quote_path", "url_for_key"]

# Characters that stay as they are in a URL path; everything else (spaces, non-ASCII) is
# percent-encoded so the URL is valid and S3/CloudFront map it back to the key.
_URL_SAFE = "/-._~!$&'()*+,;=:@"


def integrity_of(sha256_hex: str) -> str:
    """The Subresource Integrity value for a hex SHA-256 digest."""
    return "sha256-" + base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def quote_path(path: str) -> str:
    """Percent-encode a key or relative path for use in a URL (spaces, non-ASCII...)."""
    return quote(path, safe=_URL_SAFE)


def url_for_key(base_url: str, key: str) -> str:
    """The URL of a hashed key under ``base_url``, percent-encoded."""
    return base_url + quote_path(key)
