"""Media types of published files: the ``Content-Type`` each object is stored with.

hashstore keeps its own table instead of asking :mod:`mimetypes`, which reads ``/etc/mime.types``
and the Windows registry: the same file must get the same ``Content-Type`` on every machine that
publishes it, or two publishers of one build would disagree (as whitenoise's ``media_types.py``
argues). Text types carry ``; charset=utf-8`` so browsers never guess the encoding of CSS, scripts
or source maps.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEFAULT_TYPE", "MediaTypes", "content_type", "default_types"]

DEFAULT_TYPE = "application/octet-stream"
"""What a name with no known extension is stored as: browsers download it rather than guess."""

_CHARSET = "; charset=utf-8"

# Types whose bodies are text: they get `; charset=utf-8`. Every `text/*` type does too.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/ld+json",
        "application/manifest+json",
        "application/xml",
        "application/xhtml+xml",
        "application/atom+xml",
        "application/rss+xml",
        "application/geo+json",
        "image/svg+xml",
    }
)

_DEFAULT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        # Stylesheets, scripts and what they load. `text/javascript` is the type the HTML
        # standard names for every script, classic or module (RFC 9239).
        ".css": "text/css",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".cjs": "text/javascript",
        ".jsx": "text/javascript",
        ".map": "application/json",
        ".json": "application/json",
        ".jsonld": "application/ld+json",
        ".geojson": "application/geo+json",
        ".webmanifest": "application/manifest+json",
        ".wasm": "application/wasm",
        # Documents and text.
        ".html": "text/html",
        ".htm": "text/html",
        ".xhtml": "application/xhtml+xml",
        ".txt": "text/plain",
        ".text": "text/plain",
        ".md": "text/markdown",
        ".markdown": "text/markdown",
        ".csv": "text/csv",
        ".tsv": "text/tab-separated-values",
        ".xml": "application/xml",
        ".xsl": "application/xml",
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
        ".ics": "text/calendar",
        ".vtt": "text/vtt",
        ".yaml": "text/yaml",
        ".yml": "text/yaml",
        ".pdf": "application/pdf",
        ".rtf": "application/rtf",
        ".epub": "application/epub+zip",
        # Images.
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".apng": "image/apng",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".jfif": "image/jpeg",
        ".pjpeg": "image/jpeg",
        ".gif": "image/gif",
        ".webp": "image/webp",
        ".avif": "image/avif",
        ".jxl": "image/jxl",
        ".heic": "image/heic",
        ".heif": "image/heif",
        ".ico": "image/x-icon",
        ".cur": "image/x-icon",
        ".bmp": "image/bmp",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
        # Fonts (RFC 8081).
        ".woff": "font/woff",
        ".woff2": "font/woff2",
        ".ttf": "font/ttf",
        ".otf": "font/otf",
        ".ttc": "font/collection",
        ".eot": "application/vnd.ms-fontobject",
        # Audio and video.
        ".mp4": "video/mp4",
        ".m4v": "video/mp4",
        ".webm": "video/webm",
        ".ogv": "video/ogg",
        ".mov": "video/quicktime",
        ".avi": "video/x-msvideo",
        ".mpeg": "video/mpeg",
        ".mpg": "video/mpeg",
        ".ts": "video/mp2t",
        ".m3u8": "application/vnd.apple.mpegurl",
        ".mpd": "application/dash+xml",
        ".mp3": "audio/mpeg",
        ".m4a": "audio/mp4",
        ".aac": "audio/aac",
        ".ogg": "audio/ogg",
        ".oga": "audio/ogg",
        ".opus": "audio/ogg",
        ".wav": "audio/wav",
        ".flac": "audio/flac",
        ".weba": "audio/webm",
        ".mid": "audio/midi",
        ".midi": "audio/midi",
        # Archives and compressed files (served as downloads; no Content-Encoding is implied).
        ".zip": "application/zip",
        ".gz": "application/gzip",
        ".tgz": "application/gzip",
        ".br": "application/x-brotli",
        ".zst": "application/zstd",
        ".bz2": "application/x-bzip2",
        ".xz": "application/x-xz",
        ".tar": "application/x-tar",
        ".7z": "application/x-7z-compressed",
        ".rar": "application/vnd.rar",
        ".jar": "application/java-archive",
        # Office documents.
        ".doc": "application/msword",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".xls": "application/vnd.ms-excel",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".ppt": "application/vnd.ms-powerpoint",
        ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".odt": "application/vnd.oasis.opendocument.text",
        ".ods": "application/vnd.oasis.opendocument.spreadsheet",
        ".odp": "application/vnd.oasis.opendocument.presentation",
        # Whole file names that have no telling extension.
        "apple-app-site-association": "application/json",
        "crossdomain.xml": "text/x-cross-domain-policy",
    }
)


def default_types() -> dict[str, str]:
    """A copy of the built-in table: extension (``".css"``) or whole file name -> media type.

    The values carry no charset; :class:`MediaTypes` adds it to text types.
    """
    return dict(_DEFAULT_TYPES)


def _with_charset(media_type: str) -> str:
    if ";" in media_type:
        return media_type  # the caller chose its parameters
    if media_type.startswith("text/") or media_type in _TEXT_TYPES:
        return media_type + _CHARSET
    return media_type


class MediaTypes:
    """Maps file names to the ``Content-Type`` they are stored with.

    :param extra_types: more entries, or replacements, keyed like :func:`default_types`: an
        extension with its dot (``".glb"``) or a whole file name (``"robots.txt"``). A text type
        without parameters gets ``; charset=utf-8`` as the built-in ones do.

    .. versionadded:: 0.1
    """

    __slots__ = ("_types",)

    def __init__(self, *, extra_types: Mapping[str, str] | None = None) -> None:
        table = default_types()
        if extra_types is not None:
            table.update({name.lower(): value for name, value in extra_types.items()})
        # Precomputed once, so a lookup is two dict gets.
        self._types = {name: _with_charset(value) for name, value in table.items()}

    def content_type(self, name: str) -> str:
        """The ``Content-Type`` of a logical name or hashed key (``css/app.3f2a9c1b.css``).

        A whole file name in the table wins over its extension; case does not matter.
        """
        base = posixpath.basename(name.replace("\\", "/")).lower()
        found = self._types.get(base)
        if found is not None:
            return found
        return self._types.get(posixpath.splitext(base)[1], DEFAULT_TYPE)


_DEFAULT = MediaTypes()


def content_type(name: str) -> str:
    """The ``Content-Type`` of a file name with the built-in table (see :class:`MediaTypes`).

    >>> content_type("js/app.3f2a9c1b7d4e.mjs")
    'text/javascript; charset=utf-8'
    """
    return _DEFAULT.content_type(name)
