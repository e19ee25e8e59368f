"""A fault-injecting HTTP proxy for S3 tests (and the benchmark).

The client under test uses the proxy's URL as its ``endpoint_url``; the proxy forwards each request
to the real store (moto's server, or an S3-compatible store over plain HTTP) and sends the answer
back. On the way it:

- counts requests by method (``counts["PUT"]``) and by S3 operation (``operations["PutObject"]``)
  and records each one (method, path, query, headers, the checksums it claims for its payload
  and the payload's real SHA-256, a POST's body) in ``requests``, so a test can prove what the
  client sent, which the store itself may not check (moto stores bodies without checking them);
- adds ``latency`` seconds to every request (the benchmark uses 0.02);
- answers a seeded, deterministic fraction of requests with ``500 InternalError`` or
  ``503 SlowDown`` (a proper S3 XML error) instead of forwarding them;
- resets a fraction of connections without answering, before forwarding (``reset_rate``) or after
  the store has executed the request (``reset_after_rate``: the answer is lost);
- flips one byte of a fraction of PUT bodies in flight, headers untouched, so the payload no longer
  matches the checksum the client sent;
- answers chosen requests with a chosen S3 error (:meth:`S3Proxy.inject`), for errors the store
  cannot produce itself (``AccessControlListNotSupported``, ``BadDigest``, ``501``...);
- optionally checks ``x-amz-checksum-sha256`` and ``Content-MD5`` against the body it forwards and
  answers ``400 BadDigest`` as S3 does (``verify_checksums``), because moto stores whatever it
  is sent without checking it.

Request bodies are read by their framing: ``Content-Length``, or ``Transfer-Encoding: chunked``
(with trailers, which botocore's ``aws-chunked`` flexible-checksum uploads use). A chunked body is
forwarded as one chunk followed by the original trailers; the entity bytes and every header stay
as sent, so request signatures remain valid. The ``Host`` header is forwarded unchanged, which is
why the proxy works only with stores that do not route by ``Host`` (moto, MinIO), not AWS itself.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

__all__ = ["Faults", "ProxiedRequest", "S3Proxy", "operation_name"]

# Headers that describe one hop, not the request; never forwarded as they are.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "upgrade", "expect", "trailer"}
)

# The headers (or trailers) by which a request claims a checksum of its payload.
_CHECKSUM_HEADERS = frozenset(
    {
        "content-md5",
        "x-amz-checksum-crc32",
        "x-amz-checksum-crc32c",
        "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1",
        "x-amz-checksum-sha256",
    }
)

_ERROR_MESSAGES = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


@dataclass(frozen=True)
class Faults:
    """What the proxy does wrong, and how often. Rates are fractions from 0 to 1."""

    latency: float = 0.0
    """Seconds added to every request before it is forwarded."""
    error_rate: float = 0.0
    """Fraction of requests answered with ``error_status`` instead of being forwarded."""
    error_status: int = 503
    """500 (``InternalError``) or 503 (``SlowDown``)."""
    reset_rate: float = 0.0
    """Fraction of requests whose connection is reset before they are forwarded."""
    reset_after_rate: float = 0.0
    """Fraction of requests forwarded and executed whose answer is lost (connection reset)."""
    corrupt_rate: float = 0.0
    """Fraction of PUT requests with a body whose payload gets one byte flipped."""
    methods: frozenset[str] | None = None
    """Apply faults only to these methods (``{"PUT"}``); ``None``: every method."""
    operations: frozenset[str] | None = None
    """Apply faults only to these S3 operations (``{"UploadPart"}``); ``None``: every one."""
    verify_checksums: bool = False
    """Answer ``400 BadDigest`` when the body forwarded does not match the request's
    ``x-amz-checksum-sha256`` or ``Content-MD5``, as S3 does (moto does not check them)."""
    seed: int = 0
    """Seed of the random choices, so a test sees the same faults on every run."""


@dataclass(frozen=True)
class ProxiedRequest:
    """One request as the proxy saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Header names in lower case."""
    operation: str
    fault: str | None = None
    """What the proxy did to it: ``error``, ``reset``, ``reset-after``, ``corrupt``,
    ``injected``, ``bad-digest``; ``None`` if it was forwarded as is."""
    checksums: dict[str, str] = field(default_factory=dict)
    """The checksums the request claims for its payload (``x-amz-checksum-sha256``,
    ``content-md5``...), from its headers or trailers (aws-chunked or HTTP), names lower case."""
    payload_sha256: str | None = None
    """Base64 SHA-256 of the payload as forwarded (after any corruption); ``None`` without one."""
    body: bytes | None = None
    """The entity of a ``POST`` (CompleteMultipartUpload's part list, DeleteObjects' keys)."""


@dataclass
class _Rule:
    status: int
    code: str
    message: str
    operation: str | None
    method: str | None
    key: str | None
    remaining: int | None
    fields: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, operation: str, path: str) -> bool:
        return (
            (self.operation is None or self.operation == operation)
            and (self.method is None or self.method == method)
            and (self.key is None or path.endswith("/" + self.key))
        )


def operation_name(method: str, path: str, query: str, headers: dict[str, str]) -> str:
    """The S3 operation of a path-style request (best effort; ``"Unknown"`` otherwise)."""
    params = parse_qs(query, keep_blank_values=True)
    has_key = "/" in path.lstrip("/")
    if method == "GET":
        if not has_key:
            if params.get("list-type") == ["2"]:
                return "ListObjectsV2"
            if "uploads" in params:
                return "ListMultipartUploads"
            if path.strip("/") == "":
                return "ListBuckets"
            return "ListObjects" if not params else "GetBucket" + next(iter(params)).title()
        return "ListParts" if "uploadId" in params else "GetObject"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "PUT":
        if not has_key:
            return "CreateBucket" if not params else "PutBucket" + next(iter(params)).title()
        if "partNumber" in params:
            return "UploadPart"
        if "x-amz-copy-source" in headers:
            return "CopyObject"
        return "PutObject"
    if method == "POST":
        if "uploads" in params:
            return "CreateMultipartUpload"
        if "uploadId" in params:
            return "CompleteMultipartUpload"
        if "delete" in params:
            return "DeleteObjects"
        return "PostObject"
    if method == "DELETE":
        if not has_key:
            return "DeleteBucket"
        return "AbortMultipartUpload" if "uploadId" in params else "DeleteObject"
    return "Unknown"


def error_body(
    code: str, message: str, resource: str, fields: dict[str, str] | None = None
) -> bytes:
    """An S3 XML error document."""
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in (fields or {}).items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}"
        f"<Resource>{escape(resource)}</Resource><RequestId>HASHSTOREPROXY</RequestId></Error>"
    ).encode()


class S3Proxy:
    """A loopback HTTP proxy in front of an S3 endpoint; see the module docstring.

    Use as a context manager, or :meth:`start` and :meth:`stop`.

    :param upstream: the store's endpoint URL, ``http://host:port``.
    :param faults: what to do wrong (settable later through :attr:`faults`).
    """

    def __init__(self, upstream: str, *, faults: Faults | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"S3Proxy forwards to http:// endpoints only, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._random = random.Random(self._faults.seed)
        self._rules: list[_Rule] = []
        self.counts: Counter[str] = Counter()
        """Requests by method: ``counts["PUT"]``."""
        self.operations: Counter[str] = Counter()
        """Requests by S3 operation: ``operations["ListObjectsV2"]``."""
        self.requests: list[ProxiedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- configuration -------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._random = random.Random(faults.seed)

    def set_faults(self, **changes: Any) -> None:
        """Change some fault settings, e.g. ``set_faults(error_rate=0.1)``."""
        self.faults = replace(self.faults, **changes)

    def inject(
        self,
        status: int,
        code: str,
        message: str = "",
        *,
        operation: str | None = None,
        method: str | None = None,
        key: str | None = None,
        times: int | None = 1,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests (``None``: all) with an S3 error.

        :param operation: only requests of this S3 operation (``"PutObject"``).
        :param method: only requests of this HTTP method.
        :param key: only requests whose path ends with ``/key``.
        :param fields: more elements of the XML error (``{"Header": "If-None-Match"}``).
        """
        with self._lock:
            self._rules.append(
                _Rule(status, code, message or code, operation, method, key, times, fields or {})
            )

    def reset(self) -> None:
        """Forget counts, recorded requests, injected errors and faults."""
        with self._lock:
            self.counts.clear()
            self.operations.clear()
            self.requests.clear()
            self._rules.clear()
            self._faults = Faults()
            self._random = random.Random(0)

    @property
    def total(self) -> int:
        """Requests seen so far."""
        return sum(self.counts.values())

    def requests_for(self, operation: str) -> list[ProxiedRequest]:
        """The recorded requests of one S3 operation."""
        with self._lock:
            return [r for r in self.requests if r.operation == operation]

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the ``endpoint_url`` the client should use."""
        assert self._server is not None, "start() the proxy first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> S3Proxy:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            # A short poll interval: stop() waits for the loop to notice.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="s3proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every client connection still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> S3Proxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- decisions (called by the handler threads) ----------------------------------------

    def _decide(self, method: str, operation: str, path: str, has_body: bool) -> tuple[Any, ...]:
        """What to do with one request: ``(kind, detail)``, drawn under the lock."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, operation, path) and rule.remaining != 0:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return ("injected", rule)
            f = self._faults
            if (f.methods is not None and method not in f.methods) or (
                f.operations is not None and operation not in f.operations
            ):
                return (None, None)
            # One draw per kind, always in this order, so a seed gives the same sequence.
            draws = [self._random.random() for _ in range(4)]
            if draws[0] < f.error_rate:
                return ("error", None)
            if draws[1] < f.reset_rate:
                return ("reset", None)
            if method == "PUT" and has_body and draws[2] < f.corrupt_rate:
                return ("corrupt", self._random.random())
            if draws[3] < f.reset_after_rate:
                return ("reset-after", None)
            return (None, None)

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.counts[request.method] += 1
            self.operations[request.operation] += 1
            self.requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: S3Proxy

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    timeout = 60
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests assert on counts, not logs

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def _handle(self) -> None:
        proxy = self.server.proxy
        split = urlsplit(self.path)
        path, query = split.path, split.query
        headers = {k.lower(): v for k, v in self.headers.items()}
        entity, trailers, chunked = self._read_body(headers)
        operation = operation_name(self.command, path, query, headers)
        kind, detail = proxy._decide(self.command, operation, path, bool(entity))
        faults = proxy.faults
        fault = kind

        if kind == "corrupt":
            entity = _corrupt(entity, headers, detail)
        if (
            kind in (None, "corrupt")
            and faults.verify_checksums
            and not _checksums_match(entity, trailers, headers)
        ):
            kind, fault = "bad-digest", fault or "bad-digest"
        payload, claimed = _claims(entity, trailers, headers)
        proxy._record(
            ProxiedRequest(
                self.command,
                path,
                query,
                headers,
                operation,
                fault,
                checksums={k: v for k, v in claimed.items() if k in _CHECKSUM_HEADERS},
                payload_sha256=_b64(hashlib.sha256(payload).digest()) if entity else None,
                body=entity if self.command == "POST" else None,
            )
        )
        if faults.latency:
            time.sleep(faults.latency)

        if kind == "reset":
            self._reset()
            return
        if kind == "injected":
            rule = detail
            self._answer_error(rule.status, rule.code, rule.message, path, rule.fields)
            return
        if kind == "error":
            status = faults.error_status
            code, message = _ERROR_MESSAGES.get(status, ("InternalError", "Injected error."))
            self._answer_error(status, code, message, path)
            return
        if kind == "bad-digest":
            self._answer_error(
                400, "BadDigest", "The checksum you specified did not match what we received.", path
            )
            return

        if chunked:
            body = b""
            if entity:
                body += b"%x\r\n" % len(entity) + entity + b"\r\n"
            body += b"0\r\n" + b"".join(trailers) + b"\r\n"
        else:
            body = entity
        status, reason, answer_headers, answer = self._forward(body)
        if kind == "reset-after":
            self._reset()
            return
        self.send_response_only(status, reason)
        for name, value in answer_headers:
            if name.lower() not in _HOP_HEADERS and name.lower() != "transfer-encoding":
                if name.lower() == "content-length" and self.command != "HEAD":
                    continue
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD" and answer:
            self.wfile.write(answer)
        self.wfile.flush()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def _read_body(self, headers: dict[str, str]) -> tuple[bytes, list[bytes], bool]:
        """The entity (de-chunked), the raw trailer lines, and whether it came chunked."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            entity = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                entity += self.rfile.read(size)
                self.rfile.read(2)  # CRLF after the chunk
            trailers = []
            while True:
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                trailers.append(line)
            return bytes(entity), trailers, True
        length = int(headers.get("content-length", "0") or 0)
        return (self.rfile.read(length) if length else b""), [], False

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        for attempt in (1, 2):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
            conn = self._upstream
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in _HOP_HEADERS:
                        conn.putheader(name, value)
                conn.endheaders(body or None)
                response = conn.getresponse()
                answer = response.read()
            except (ConnectionError, http.client.HTTPException):
                # A kept-alive upstream connection the store closed meanwhile: one fresh try.
                conn.close()
                self._upstream = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                conn.close()
                self._upstream = None
            return response.status, response.reason, response.getheaders(), answer
        raise AssertionError("unreachable")

    def _answer_error(
        self,
        status: int,
        code: str,
        message: str,
        resource: str,
        fields: dict[str, str] | None = None,
    ) -> None:
        body = error_body(code, message, resource, fields)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", "HASHSTOREPROXY")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        """Close the connection without an answer: an RST, as a failing load balancer sends."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _aws_chunks(entity: bytes) -> tuple[list[tuple[int, int]], dict[str, str]] | None:
    """Data spans and trailers of an ``aws-chunked`` entity, or ``None`` if it is not one.

    botocore sends such bodies as HTTP chunks whose joined data is the aws-chunked stream:
    ``<hex size>[;chunk-signature=...]\r\n<data>\r\n`` ... ``0\r\n<trailers>\r\n``.
    """
    spans: list[tuple[int, int]] = []
    trailers: dict[str, str] = {}
    pos = 0
    try:
        while True:
            end = entity.index(b"\r\n", pos)
            size = int(entity[pos:end].split(b";", 1)[0], 16)
            pos = end + 2
            if size == 0:
                break
            if entity[pos + size : pos + size + 2] != b"\r\n":
                return None
            spans.append((pos, pos + size))
            pos += size + 2
        for line in entity[pos:].split(b"\r\n"):
            if line:
                name, _, value = line.decode("latin-1").partition(":")
                trailers[name.strip().lower()] = value.strip()
    except ValueError:
        return None
    return spans, trailers


def _payload(
    entity: bytes, headers: dict[str, str]
) -> tuple[list[tuple[int, int]], dict[str, str]]:
    """Where the object's bytes are in an entity, and any checksum trailers it carries."""
    if "aws-chunked" in headers.get("content-encoding", ""):
        parsed = _aws_chunks(entity)
        if parsed is not None:
            return parsed
    return ([(0, len(entity))] if entity else []), {}


def _corrupt(entity: bytes, headers: dict[str, str], where: float) -> bytes:
    spans = [span for span in _payload(entity, headers)[0] if span[1] > span[0]]
    if not spans:
        return entity
    start, end = spans[0]
    offset = start + int(where * (end - start))
    data = bytearray(entity)
    data[offset] ^= 0xFF
    return bytes(data)


def _claims(
    entity: bytes, trailers: list[bytes], headers: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    """The payload of a request, and its headers merged with the checksums in its trailers."""
    spans, claimed_in_body = _payload(entity, headers)
    payload = b"".join(entity[a:b] for a, b in spans)
    claimed = {**headers, **claimed_in_body}
    for line in trailers:
        name, _, value = line.decode("latin-1").partition(":")
        claimed[name.strip().lower()] = value.strip()
    return payload, claimed


def _checksums_match(entity: bytes, trailers: list[bytes], headers: dict[str, str]) -> bool:
    """Whether the payload matches the SHA-256 / MD5 the request claims (S3's upload check)."""
    payload, claimed = _claims(entity, trailers, headers)
    sha = claimed.get("x-amz-checksum-sha256")
    if sha and _b64(hashlib.sha256(payload).digest()) != sha:
        return False
    md5 = claimed.get("content-md5")
    return not (md5 and _b64(hashlib.md5(payload, usedforsecurity=False).digest()) != md5)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
