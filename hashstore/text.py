"""The text of a stylesheet or script, and back to bytes in the encoding it came in.

Nearly every file is UTF-8 (or ASCII-compatible: decoding as UTF-8 with ``surrogateescape`` is
lossless, so Latin-1 survives too). A file in UTF-16 or UTF-32 is not: its ``url(`` is
``u\\0r\\0l\\0(\\0``. Such a file says so with a byte order mark, or, in a stylesheet, by starting
with ``@charset`` written in that encoding. It is decoded, scanned and rewritten as text, and
encoded again the same way (the same byte order, the same mark), so a reference in it is never
silently left pointing at an unhashed name.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SourceError

__all__ = ["UTF8", "Encoding", "decode"]


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a file's text is turned back into bytes."""

    codec: str
    """A Python codec without a byte order mark of its own (``utf-16-le``, never ``utf-16``)."""
    bom: bytes = b""
    """The byte order mark the file starts with, written back in front of the text."""

    def encode(self, text: str) -> bytes:
        """``text`` as the file's bytes."""
        if self.codec == "utf-8":
            return text.encode("utf-8", "surrogateescape")
        return self.bom + text.encode(self.codec)


UTF8 = Encoding("utf-8")

# UTF-32 LE's mark starts with UTF-16 LE's, so it is tried first.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# ``@charset "`` as each of these encodings writes it, for files without a mark.
_CHARSET_STARTS = tuple(
    ('@charset "'.encode(codec), codec)
    for codec in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")
)


def _detect(raw: bytes) -> Encoding:
    if raw[:1] not in (b"\xff", b"\xfe", b"\x00", b"@"):
        return UTF8  # the common case, decided by one byte
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return Encoding(codec, bom)
    for start, codec in _CHARSET_STARTS:
        if raw.startswith(start):
            return Encoding(codec)
    return UTF8


def decode(raw: bytes, *, path: str) -> tuple[str, Encoding]:
    """The text of a file and the encoding to write it back in.

    :param raw: the file's bytes.
    :param path: the file, for the error message.
    :raises SourceError: a UTF-16 or UTF-32 file (by its mark or ``@charset``) whose bytes are
        not valid in that encoding.
    """
    encoding = _detect(raw)
    if encoding.codec == "utf-8":
        return raw.decode("utf-8", "surrogateescape"), encoding
    try:
        return raw[len(encoding.bom) :].decode(encoding.codec), encoding
    except UnicodeDecodeError as exc:
        said = "its byte order mark" if encoding.bom else "its @charset rule"
        raise SourceError(
            f"{said} says {encoding.codec.upper()}, but byte {exc.start + len(encoding.bom)} is "
            f"not valid there ({exc.reason}); save the file as UTF-8 (or fix its encoding) so "
            "its references can be rewritten",
            path=path,
        ) from None
