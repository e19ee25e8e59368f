"""Fixtures shared by the whole suite.

``clean_environ`` (autouse)
    Every test starts without ``AWS_*`` and ``HASHSTORE_*`` variables (as httpx's
    ``clean_environ``), with dummy credentials, ``AWS_DEFAULT_REGION=us-east-1`` and
    ``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE`` pointing at files that do not exist, so
    the developer's ``~/.aws`` and instance metadata never leak in.

``moto_server`` (session)
    The URL of an S3 endpoint: moto's server, started once on 127.0.0.1 (port 0) in a thread of
    the test process and stopped at the end.

``s3_bucket``
    A fresh bucket per test (emptied and deleted afterwards), as :class:`S3Bucket`: ``name``,
    ``prefix``, ``endpoint_url``, ``client`` (boto3, for assertions) and ``settings(**changes)``,
    a :class:`~hashstore.settings.Settings` whose ``target`` is ``s3://<name>/<prefix>``.

``s3_proxy``
    A :class:`s3proxy.S3Proxy` in front of the store that counts requests and injects faults;
    give ``s3_bucket.settings(endpoint_url=s3_proxy.url)`` to go through it.

Tests that need moto itself (IAM simulation, its in-process state) are marked ``moto_only``;
tests whose claims need a store that keeps and returns each object's SHA-256 checksum are marked
``store_checksums(reason)``, saying why. Both are skipped, with the reason, where they cannot hold.

Running the S3 tests against radosgw (``make test-rgw``)
    ``HASHSTORE_TEST_STORE=radosgw`` starts a one-node Ceph cluster with radosgw on 127.0.0.1
    (:mod:`tests.radosgw`) once per test process instead of moto, installing Debian's packages
    first through ``scripts/ensure-debian.sh radosgw`` when they are absent (as root, or with
    passwordless sudo). Each test gets a fresh bucket, as with moto. Where radosgw is absent and
    cannot be installed, the S3 tests are skipped with the installer's reason.

Running the S3 tests against a real store
    Set ``HASHSTORE_TEST_S3_ENDPOINT`` (e.g. ``https://s3.eu-west-1.amazonaws.com`` or
    ``http://127.0.0.1:9000`` for MinIO), ``HASHSTORE_TEST_S3_BUCKET`` (an existing bucket you
    may write to) and the credentials as ``HASHSTORE_TEST_AWS_ACCESS_KEY_ID``,
    ``HASHSTORE_TEST_AWS_SECRET_ACCESS_KEY`` (and ``HASHSTORE_TEST_AWS_SESSION_TOKEN``,
    ``HASHSTORE_TEST_AWS_REGION``). moto is then not started; each test gets a unique prefix in
    that bucket instead of a bucket of its own, and everything under it is deleted afterwards.
    ``moto_only`` tests are skipped; proxy tests run only when the endpoint is plain ``http``
    (the proxy forwards the client's ``Host`` header, which AWS routes by).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config
import pytest

from hashstore.settings import Settings

from .s3proxy import S3Proxy

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


@dataclass(frozen=True)
class _RealStore:
    endpoint_url: str
    bucket: str
    region: str
    credentials: dict[str, str]


def _real_store_from(environ: Mapping[str, str]) -> _RealStore | None:
    """The store named by HASHSTORE_TEST_* variables, read once before any test clears them."""
    endpoint = environ.get("HASHSTORE_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    bucket = environ.get("HASHSTORE_TEST_S3_BUCKET")
    if not bucket:
        raise pytest.UsageError("HASHSTORE_TEST_S3_ENDPOINT needs HASHSTORE_TEST_S3_BUCKET too")
    credentials = {
        name: environ[f"HASHSTORE_TEST_{name}"]
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        if environ.get(f"HASHSTORE_TEST_{name}")
    }
    region = environ.get("HASHSTORE_TEST_AWS_REGION", "us-east-1")
    return _RealStore(endpoint, bucket, region, credentials)


REAL_STORE = _real_store_from(os.environ)
"""The real S3 endpoint the suite runs against, or ``None`` for moto (or radosgw)."""


def _store_kind(environ: Mapping[str, str]) -> str:
    if REAL_STORE is not None:
        return "real"
    kind = environ.get("HASHSTORE_TEST_STORE") or "moto"
    if kind not in ("moto", "radosgw"):
        raise pytest.UsageError(f"HASHSTORE_TEST_STORE={kind!r}: moto or radosgw expected")
    return kind


STORE = _store_kind(os.environ)
"""Which S3 store the suite runs against: ``moto``, ``radosgw`` or ``real``."""

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _credentials() -> dict[str, str]:
    if REAL_STORE is not None:
        return REAL_STORE.credentials
    if STORE == "radosgw":
        from .radosgw import ACCESS_KEY, SECRET_KEY

        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    return DUMMY_CREDENTIALS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "moto_only: needs moto's in-process server; skipped against another store"
    )
    config.addinivalue_line(
        "markers",
        "store_checksums(reason): the claim needs a store that keeps each object's SHA-256 "
        "checksum and returns it (moto does; radosgw Pacific does not); skipped elsewhere",
    )


# Test modules that need a framework (by name prefix): without it, as in tox's noframework
# envs, each is reported as skipped with the reason instead of failing to import.
_FRAMEWORKS = {
    "test_django": ("django",),
    "test_flask": ("flask",),
    "test_docs": ("django", "flask"),
    # moto's server, in a process of its own, needs Flask
    "test_rolling_deploy": ("flask",),
    "test_browser": ("flask",),
}


class _FrameworkModule(pytest.Module):
    needs: tuple[str, ...] = ()

    def collect(self) -> Any:
        for name in self.needs:
            if importlib.util.find_spec(name) is None:
                pytest.skip(f"needs {name}, which is not installed")
        return super().collect()


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    for prefix, needs in _FRAMEWORKS.items():
        if module_path.stem.startswith(prefix):
            module = _FrameworkModule.from_parent(parent, path=module_path)
            module.needs = needs
            return module
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for framework in ("django", "flask"):  # @pytest.mark.django / .flask on a single test
        if item.get_closest_marker(framework) and importlib.util.find_spec(framework) is None:
            pytest.skip(f"needs {framework}, which is not installed")
    if STORE != "moto" and item.get_closest_marker("moto_only"):
        pytest.skip(f"needs moto (the suite runs against {STORE})")
    marker = item.get_closest_marker("store_checksums")
    if marker is not None:
        if not marker.args:
            raise pytest.UsageError(f"{item.nodeid}: store_checksums needs a reason")
        if STORE == "radosgw":
            pytest.skip(f"radosgw keeps no SHA-256 checksums: {marker.args[0]}")


@pytest.fixture(scope="session")
def _no_aws_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-aws")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, _no_aws_files: Path) -> None:
    """No AWS_* or HASHSTORE_* from the caller's environment; dummy (or real-store) credentials."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "HASHSTORE_")):
            monkeypatch.delenv(name)
    for name, value in _credentials().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REAL_STORE.region if REAL_STORE else "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(_no_aws_files / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(_no_aws_files / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The endpoint URL of the S3 store the tests use: moto's server, radosgw's or a real one."""
    if REAL_STORE is not None:
        yield REAL_STORE.endpoint_url
        return
    if STORE == "radosgw":
        yield request.getfixturevalue("radosgw")
        return
    if importlib.util.find_spec("flask") is None:  # tox's noframework envs
        pytest.skip("moto's server needs Flask, which is not installed (the test extra has it)")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def radosgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a one-node radosgw (:mod:`tests.radosgw`), stopped by PID at the end.

    Installs Debian's packages when they are absent; skips, with the installer's reason, where
    it cannot.
    """
    from .radosgw import Radosgw, RadosgwUnavailable, install_or_reason

    reason = install_or_reason(Path(__file__).parent.parent / "scripts" / "ensure-debian.sh")
    if reason is not None:
        pytest.skip(reason)
    try:
        with Radosgw(tmp_path_factory.mktemp("radosgw")) as server:
            yield server.endpoint_url
    except RadosgwUnavailable as exc:
        pytest.fail(f"radosgw is installed but did not start: {exc}", pytrace=False)


_SESSION = boto3.session.Session()
"""One session for the suite's own clients: a new session loads the S3 model again (slow)."""


def make_client(endpoint_url: str, **config: Any) -> S3Client:
    """A plain boto3 S3 client for the test store (assertions, setup), path-style.

    It does not validate response checksums, so it shows stored bytes as they are; ``config``
    overrides any :class:`botocore.config.Config` option.
    """
    credentials = _credentials()
    return _SESSION.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REAL_STORE.region if REAL_STORE is not None else "us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
        # Show stored bytes as they are: no checksum validation on reads.
        config=botocore.config.Config(
            **{
                "s3": {"addressing_style": "path"},
                "response_checksum_validation": "when_required",
                **config,
            }
        ),
    )


@dataclass
class S3Bucket:
    """A bucket (or, on a real store, a prefix of its own) for one test."""

    name: str
    prefix: str
    """Where the target's objects go: ``static/``, or ``hashstore-test-<id>/static/``."""
    endpoint_url: str
    client: S3Client

    @property
    def target(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def settings(self, **changes: Any) -> Settings:
        """Settings publishing into this bucket; ``changes`` override any field."""
        values: dict[str, Any] = {
            "target": self.target,
            "endpoint_url": self.endpoint_url,
            "region": REAL_STORE.region if REAL_STORE is not None else "us-east-1",
            "jobs": 8,
        }
        values.update(changes)
        return Settings(**values)

    def keys(self) -> list[str]:
        """Every key under :attr:`prefix`, relative to it, sorted."""
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Key"][len(self.prefix) :]
            for page in paginator.paginate(Bucket=self.name, Prefix=self.prefix)
            for item in page.get("Contents", [])
        )

    def get(self, key: str) -> bytes:
        """The stored bytes of a key relative to :attr:`prefix`."""
        return self.client.get_object(Bucket=self.name, Key=self.prefix + key)["Body"].read()


def _empty(client: S3Client, bucket: str, prefix: str) -> None:
    uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    for upload in uploads.get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        objects: list[Any] = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


@pytest.fixture
def s3_bucket(moto_server: str) -> Iterator[S3Bucket]:
    """A fresh, uniquely named bucket (a unique prefix on a real store), removed afterwards."""
    client = make_client(moto_server)
    unique = uuid.uuid4().hex[:12]
    if REAL_STORE is not None:
        cleanup_prefix = f"hashstore-test-{unique}/"
        bucket = S3Bucket(REAL_STORE.bucket, cleanup_prefix + "static/", moto_server, client)
    else:
        bucket = S3Bucket(f"hashstore-test-{unique}", "static/", moto_server, client)
        cleanup_prefix = ""
        client.create_bucket(Bucket=bucket.name)
    try:
        yield bucket
    finally:
        _empty(client, bucket.name, cleanup_prefix)
        if REAL_STORE is None:
            client.delete_bucket(Bucket=bucket.name)
        client.close()


@pytest.fixture
def s3_proxy(moto_server: str) -> Iterator[S3Proxy]:
    """A fault-injecting, request-counting proxy in front of the store, stopped afterwards."""
    if not moto_server.startswith("http://"):
        pytest.skip("the proxy forwards to plain-http stores only (moto, MinIO)")
    with S3Proxy(moto_server) as proxy:
        yield proxy
