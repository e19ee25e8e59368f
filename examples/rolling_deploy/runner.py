"""The rolling-deploy simulation: the same deploy and the same traffic, with and without hashstore.

The parts (all on 127.0.0.1, ports chosen at run time): S3 (moto's server), one nginx acting as
the load balancer over the app servers and as the CDN (``proxy_cache``), and three app servers,
each a process serving release v1 or v2 of ``examples/flask_app``. See ``nginx.conf.template``.

Scenarios
---------
``A``: classic cache busting. Pages link ``/static/css/app.css?v=2``; the app servers serve
    their own static files; the CDN caches ``/static/`` with a key *without* the query string,
    as CloudFront's CachingOptimized policy does.
``A+query``: the same, with the query string in the CDN's cache key.
``A+hashed``: hashed names, but each release's files are served by its own app servers (as
    with ``ManifestStaticFilesStorage`` or whitenoise behind a CDN): ``flask hashstore
    publish`` writes them to a directory of the release's own.
``B``: hashstore. The deploy first publishes v2 (``flask hashstore publish``) to the bucket;
    pages link hashed CDN URLs that the CDN fetches from the bucket.

The deploy and the traffic (the same in every scenario)
--------------------------------------------------------
One *round* is one page load from each app server. Each page load fetches ``/`` through the
CDN, then every asset the page references (stylesheets, scripts, preloads, images) through the
CDN, and compares each body with what the page expects:

- ``?v=N``: the bytes the server that rendered the page serves for that URL itself (asked
  directly, past load balancer and CDN);
- hashed names: the SHA-256 that the manifest of the page's release records for that URL.

A body that differs is a *wrong-version response*; a 404 the CDN stored (cache status MISS, or
HIT when served from the cache) is a *cached 404*.

The schedule is fixed: a warm-up round with every server on v1, then for each server in turn
(0, 1, 2) a swap (stop its v1 process, start v2 on the same port) followed by a round.

Why the result does not depend on timing
-----------------------------------------
The client is sequential and a swap happens between rounds, when no request is in flight, so
no request ever meets a server that is starting or stopping. Which server answers is fixed by
the schedule, not left to the balancer: every request carries ``X-Backend: <index>`` and the
load balancer's ``map`` sends it to that server (the CDN forwards the header when it misses).
Page load *k* of a round goes to server *k*, and its asset requests to server *k + 1* (mod the
number of servers): consecutive requests on different servers, which is what a round-robin
balancer does. So right after server 0 runs v2, the v2 page it renders has its assets fetched
from server 1, still on v1: the race of a rolling deploy, by construction, on every run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit
from urllib.request import OpenerDirector, ProxyHandler, Request, build_opener

from .releases import Release, make_releases
from .servers import (
    S3_CREDENTIALS,
    AppServer,
    Nginx,
    S3Server,
    SimulationError,
    child_env,
    free_port,
)

SERVERS = 3
S3_PREFIX = "assets/"
HASHED_URL_PATH = "/hashed/"
"""Where app servers serve their own release's hashed files (scenario ``A+hashed``)."""
CACHED = {"MISS", "HIT", "EXPIRED", "STALE", "UPDATING", "REVALIDATED"}
"""nginx cache statuses of a response the CDN stored or served from its cache."""


@dataclass(frozen=True)
class Scenario:
    """One way of serving assets."""

    key: str
    title: str
    mode: str
    """How the app servers link assets (see ``appserver.py``): ``classic`` (``?v=N``, served
    by the app servers), ``hashed-origin`` (hashed names, served by the app servers) or
    ``hashstore`` (hashed names, published to the bucket first)."""
    query_in_cache_key: bool = False

    @property
    def publishes(self) -> bool:
        """Whether each release is published with ``flask hashstore publish``."""
        return self.mode != "classic"


SCENARIO_A = Scenario("A", "?v=N from the app servers", "classic")
SCENARIO_A_QUERY = Scenario("A+query", "?v=N, query string in the cache key", "classic", True)
SCENARIO_A_HASHED = Scenario("A+hashed", "hashed names, from the app servers", "hashed-origin")
SCENARIO_B = Scenario("B", "hashstore: hashed names from the bucket", "hashstore")
SCENARIOS = (SCENARIO_A, SCENARIO_A_QUERY, SCENARIO_A_HASHED, SCENARIO_B)


@dataclass
class Counts:
    """What the client saw in one scenario."""

    scenario: Scenario
    pages: int = 0
    asset_requests: int = 0
    wrong_version: int = 0
    cached_404s: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    """One line per wrong-version response or cached 404: when, which page, which URL."""

    @property
    def clean(self) -> bool:
        return self.wrong_version == 0 and self.cached_404s == 0


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _References(HTMLParser):
    """The asset URLs a page references: stylesheets, preloads, scripts and images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        url = None
        if tag == "link" and {"stylesheet", "preload"} & set((a.get("rel") or "").split()):
            url = a.get("href")
        elif tag in ("script", "img"):
            url = a.get("src")
        if url and url not in self.urls:
            self.urls.append(url)


def asset_references(html: str) -> list[str]:
    """The asset URLs of a page, in document order, each once."""
    parser = _References()
    parser.feed(html)
    return parser.urls


class Stack:
    """The running parts of one scenario: app servers, nginx, and the bucket if it uses one.

    :param workdir: a directory of its own (logs, nginx prefix).
    :param releases: v1 and v2.
    :param scenario: how assets are served.
    :param s3: a started S3 endpoint (hashstore mode only).
    :param servers: how many app servers the load balancer has.
    """

    def __init__(
        self,
        workdir: Path,
        releases: Sequence[Release],
        scenario: Scenario,
        *,
        s3: S3Server | None = None,
        servers: int = SERVERS,
    ) -> None:
        if scenario.mode == "hashstore" and s3 is None:
            raise SimulationError("the hashstore scenario needs an S3 endpoint")
        self.workdir = workdir
        self.releases = {r.name: r for r in releases}
        self.scenario = scenario
        self.s3 = s3
        self.bucket = f"rolling-deploy-{uuid.uuid4().hex[:12]}"
        self.site_port, self.cdn_port, self.lb_port = free_port(), free_port(), free_port()
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.app_servers = [AppServer(i, free_port(), logs) for i in range(servers)]
        self.nginx: Nginx | None = None
        self._manifests: dict[str, dict[str, str]] = {}

    @property
    def site_url(self) -> str:
        """The site's CDN distribution: pages, and scenario A's ``/static/``."""
        return f"http://127.0.0.1:{self.site_port}"

    @property
    def cdn_url(self) -> str:
        """The assets' CDN distribution: hashed keys from the bucket (``base_url``)."""
        return f"http://127.0.0.1:{self.cdn_port}/{S3_PREFIX}"

    def manifest(self, release: str) -> Path:
        """The manifest of ``release`` in this stack (``HASHSTORE_MANIFEST``)."""
        return self.workdir / "manifests" / f"{release}.json"

    def target(self, release: str) -> str:
        """Where ``release`` is published (``HASHSTORE_TARGET``): the bucket (``hashstore``),
        or a directory of the release's own that its app servers serve (``hashed-origin``)."""
        if self.scenario.mode == "hashstore":
            return f"s3://{self.bucket}/{S3_PREFIX}"
        return str(self.workdir / "hashed" / release)

    def bucket_policy(self) -> dict[str, Any]:
        """Anyone may read the published objects: the CDN fetches them without signing.

        In production the bucket stays private and the policy grants ``s3:GetObject`` to
        CloudFront's service principal for the distribution (Origin Access Control); moto
        does not know CloudFront, so here the reader is anonymous.
        """
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CdnReadsPublishedObjects",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{self.bucket}/{S3_PREFIX}*",
                }
            ],
        }

    def app_env(self, release: str) -> dict[str, str]:
        """The environment of ``release``'s app servers and ``flask hashstore publish``."""
        if not self.scenario.publishes:
            return {}
        env = {
            "FLASK_HASHSTORE_TARGET": self.target(release),
            "FLASK_HASHSTORE_MANIFEST": str(self.manifest(release)),
        }
        if self.scenario.mode == "hashed-origin":
            return {**env, "FLASK_HASHSTORE_BASE_URL": HASHED_URL_PATH}
        assert self.s3 is not None
        assert self.s3.endpoint_url is not None
        return {
            **env,
            **S3_CREDENTIALS,
            "FLASK_HASHSTORE_BASE_URL": self.cdn_url,
            "FLASK_HASHSTORE_ENDPOINT_URL": self.s3.endpoint_url,
        }

    # Deploy steps

    def start(self, release: str = "v1") -> None:
        """Publish ``release`` (unless classic), start every app server on it, then nginx."""
        if self.scenario.mode == "hashstore":
            assert self.s3 is not None
            client = self.s3.client()
            client.create_bucket(Bucket=self.bucket)
            client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(self.bucket_policy()))
        if self.scenario.publishes:
            self.publish(release)
        for server in self.app_servers:
            server.launch(**self._launch_args(release))
        for server in self.app_servers:
            server.wait()
        values = {
            "LB_PORT": str(self.lb_port),
            "SITE_PORT": str(self.site_port),
            "CDN_PORT": str(self.cdn_port),
            "S3_PORT": str(self.s3.port if self.s3 is not None else free_port()),
            "BUCKET": self.bucket,
            "S3_PREFIX": S3_PREFIX,
            "HASHED_URL_PATH": HASHED_URL_PATH,
            "STATIC_CACHE_KEY": "$scheme$host$uri"
            + ("$is_args$args" if self.scenario.query_in_cache_key else ""),
            "UPSTREAM_SERVERS": "\n".join(
                f"        server 127.0.0.1:{s.port};" for s in self.app_servers
            ),
            "UPSTREAM_SINGLES": "\n".join(
                f"    upstream app_{s.index} {{ server 127.0.0.1:{s.port}; }}"
                for s in self.app_servers
            ),
            "UPSTREAM_MAP": "\n".join(
                f'        "{s.index}" app_{s.index};' for s in self.app_servers
            ),
        }
        ports = (self.lb_port, self.site_port, self.cdn_port)
        self.nginx = Nginx(self.workdir / "nginx", values, ports)
        self.nginx.start()

    def publish(self, release: str) -> None:
        """``flask hashstore publish`` of ``release``, as a deploy script runs it."""
        root = self.releases[release].root
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "flask_app", "hashstore", "publish"],
            cwd=root,
            env=child_env(self.app_env(release)),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SimulationError(
                f"flask hashstore publish of {release} failed (exit {result.returncode}):\n"
                + result.stdout
                + result.stderr
            )

    def swap(self, index: int, release: str) -> None:
        """Replace app server ``index`` by one running ``release``, on the same port."""
        server = self.app_servers[index]
        server.stop()
        server.start(**self._launch_args(release))

    def close(self) -> None:
        """Stop nginx and every app server."""
        if self.nginx is not None:
            self.nginx.stop()
        for server in self.app_servers:
            server.stop()

    def _launch_args(self, release: str) -> dict[str, Any]:
        return {
            "release_dir": self.releases[release].root,
            "release": release,
            "mode": self.scenario.mode,
            "env": self.app_env(release),
        }

    # What a page expects

    def manifest_digests(self, release: str) -> dict[str, str]:
        """URL path -> SHA-256 of every file in ``release``'s manifest."""
        if release not in self._manifests:
            data = json.loads(self.manifest(release).read_bytes())
            self._manifests[release] = {
                urlsplit(data["base_url"] + entry["key"]).path: entry["sha256"]
                for entry in data["files"].values()
            }
        return self._manifests[release]


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    """Start ``stack`` and close it afterwards, whatever happens."""
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


class Client:
    """A sequential HTTP client that routes each request to a chosen app server."""

    def __init__(self) -> None:
        # No proxies from the environment: every request goes to 127.0.0.1 directly.
        self._opener: OpenerDirector = build_opener(ProxyHandler({}))

    def get(self, url: str, *, backend: int | None = None) -> Response:
        headers = {"X-Backend": str(backend)} if backend is not None else {}
        request = Request(url, headers=headers)
        try:
            with self._opener.open(request, timeout=10) as response:
                return Response(response.status, dict(response.headers), response.read())
        except HTTPError as error:
            with error:
                return Response(error.code, dict(error.headers), error.read())


def load_page(stack: Stack, client: Client, counts: Counts, *, server: int, phase: str) -> None:
    """Load ``/`` from app server ``server`` and each asset it references from the next one."""
    n = len(stack.app_servers)
    asset_server = (server + 1) % n
    page = client.get(stack.site_url + "/", backend=server)
    if page.status != 200:
        raise SimulationError(f"{phase}: the page from app server {server} is {page.status}")
    release = page.headers["X-Release"]
    counts.pages += 1
    for ref in asset_references(page.body.decode()):
        url = urljoin(stack.site_url + "/", ref)
        response = client.get(url, backend=asset_server)
        counts.asset_requests += 1
        cache = response.headers.get("X-Cache-Status", "-")
        where = (
            f"{phase}: {release} page from server {server}, {_short(url)} "
            f"(CDN {cache}; origin said release {response.headers.get('X-Release', '-')})"
        )
        if response.status == 404 and cache in CACHED:
            counts.cached_404s += 1
            counts.problems.append(f"{where}: 404 cached")
        elif response.status != 200:
            raise SimulationError(f"{where}: unexpected status {response.status}")
        elif hashlib.sha256(response.body).hexdigest() != _expected(
            stack, client, release, url, server
        ):
            counts.wrong_version += 1
            counts.problems.append(f"{where}: wrong version")


def _expected(stack: Stack, client: Client, release: str, url: str, server: int) -> str:
    """The SHA-256 the page of ``release`` (rendered by app server ``server``) expects."""
    if stack.scenario.publishes:
        digests = stack.manifest_digests(release)
        path = urlsplit(url).path
        if path not in digests:
            raise SimulationError(f"{url} is not in release {release}'s manifest")
        return digests[path]
    # Classic: what the server that rendered the page serves for this URL itself.
    parts = urlsplit(url)
    origin = f"http://127.0.0.1:{stack.app_servers[server].port}{parts.path}"
    own = client.get(origin + (f"?{parts.query}" if parts.query else ""))
    if own.status != 200:
        raise SimulationError(f"{origin} is {own.status} on the server that linked it")
    return hashlib.sha256(own.body).hexdigest()


def _short(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def run_scenario(
    scenario: Scenario,
    workdir: Path,
    releases: Sequence[Release],
    *,
    s3: S3Server | None = None,
    servers: int = SERVERS,
    log: Callable[[str], None] = lambda line: None,
) -> Counts:
    """Deploy v1, then roll v2 out one server at a time under traffic; count what went wrong.

    :param servers: app servers behind the load balancer (at least 2: the race needs a page
        and its assets on different servers).
    """
    if servers < 2:
        raise SimulationError(f"servers = {servers}: a rolling deploy needs at least 2")
    started = time.perf_counter()
    counts = Counts(scenario)
    client = Client()
    stack = Stack(workdir / scenario.key, releases, scenario, s3=s3, servers=servers)
    with running(stack):

        def round_(phase: str) -> None:
            for k in range(servers):
                load_page(stack, client, counts, server=k, phase=phase)

        round_("all on v1")
        if scenario.publishes:
            where = "the bucket" if scenario.mode == "hashstore" else "v2's own directory"
            log(f"  {scenario.key}: `flask hashstore publish` of v2 to {where}")
            stack.publish("v2")
        for i in range(servers):
            stack.swap(i, "v2")
            round_(f"server {i} on v2" if i < servers - 1 else "all on v2")
    counts.seconds = time.perf_counter() - started
    log(f"  {scenario.key}: {scenario.title}: rolled out in {counts.seconds:.1f}s")
    return counts


def run_simulation(
    workdir: Path | None = None,
    *,
    scenarios: Sequence[Scenario] = SCENARIOS,
    s3_endpoint: str | None = None,
    servers: int = SERVERS,
    log: Callable[[str], None] = lambda line: None,
) -> list[Counts]:
    """Run ``scenarios`` and return what each counted.

    :param workdir: where releases, logs and nginx's files go (a temporary directory, removed
        afterwards, by default).
    :param s3_endpoint: an S3 endpoint to use instead of starting moto's server.
    :raises SimulationError: a part could not be started (nginx missing, a port taken...).
    """
    with ExitStack() as cleanup:
        if workdir is None:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="rolling-")))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
        releases = make_releases(workdir)
        s3 = None
        if any(s.mode == "hashstore" for s in scenarios):
            s3 = cleanup.enter_context(S3Server(s3_endpoint, logs=workdir / "moto"))
        return [
            run_scenario(scenario, workdir, releases, s3=s3, servers=servers, log=log)
            for scenario in scenarios
        ]
    raise AssertionError("unreachable")


def format_table(results: Sequence[Counts]) -> str:
    """The results as a plain-text table."""
    header = ("scenario", "pages", "asset requests", "wrong version", "cached 404s")
    rows = [
        (
            f"{c.scenario.key:<8} {c.scenario.title}",
            str(c.pages),
            str(c.asset_requests),
            str(c.wrong_version),
            str(c.cached_404s),
        )
        for c in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
