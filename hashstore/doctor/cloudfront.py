"""The CloudFront checks of ``hashstore doctor``: cache key, error caching, compression.

With a distribution id, ``doctor`` reads the distribution's configuration and the cache policy
of the behavior that serves the assets: **query-strings** (not in the cache key),
**error-caching** (404/403 answers cached at most :data:`MAX_ERROR_CACHING_TTL` seconds) and
**compression**. botocore errors are translated here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import TargetError
from .findings import DENIED, Finding, skipped

if TYPE_CHECKING:
    from mypy_boto3_cloudfront.client import CloudFrontClient

    from ..manifest import Manifest
    from ..settings import Settings

__all__ = ["MAX_ERROR_CACHING_TTL", "Distribution", "cloudfront_client"]

MAX_ERROR_CACHING_TTL = 10
"""Seconds a CDN may cache a 404 (or 403) for an asset: CloudFront's own default. Longer, and a
request that arrives while a file is still being uploaded keeps failing after it is there."""


def cloudfront_client(settings: Settings, endpoint_url: str | None) -> CloudFrontClient:
    import boto3

    session = boto3.session.Session(profile_name=settings.profile)
    return session.client("cloudfront", endpoint_url=endpoint_url, region_name="us-east-1")


class Distribution:
    """The CloudFront checks: cache key, error caching, compression."""

    def __init__(self, client: CloudFrontClient, distribution_id: str) -> None:
        self.client = client
        self.id = distribution_id
        self._policies: dict[str, tuple[Any, str | None]] = {}

    def call(self, operation: str, method: Callable[..., Any], **kw: Any) -> tuple[Any, str | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**kw), None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "")
            if code in DENIED or code in {"NoSuchDistribution", "NoSuchCachePolicy"}:
                return None, code
            message = exc.response.get("Error", {}).get("Message", "")
            raise TargetError(
                f"CloudFront {operation} {self.id}: the service refused the request "
                f"({code}: {message})",
                operation=operation,
            ) from exc
        except BotoCoreError as exc:
            raise TargetError(
                f"CloudFront {operation} {self.id}: {exc}: check the network and credentials",
                operation=operation,
            ) from exc

    def check(self, base_url: str, newest: Manifest | None) -> list[Finding]:
        answer, code = self.call(
            "GetDistributionConfig", self.client.get_distribution_config, Id=self.id
        )
        if code in DENIED:
            return [skipped("cloudfront", "cloudfront:GetDistributionConfig")]
        if code is not None:
            return [
                Finding(
                    "cloudfront",
                    "problem",
                    f"distribution {self.id} does not exist ({code})",
                    "give the id of the distribution serving base_url (aws cloudfront "
                    "list-distributions)",
                )
            ]
        config = answer["DistributionConfig"]
        label, behavior = _behavior_for(config, base_url, newest)
        return [
            self._query_strings(label, behavior),
            _error_caching(config),
            self._compression(label, behavior),
        ]

    def _cache_policy(self, behavior: Mapping[str, Any]) -> tuple[Any, str | None]:
        policy_id = behavior.get("CachePolicyId")
        if not policy_id:
            return None, None
        if policy_id not in self._policies:
            answer, code = self.call("GetCachePolicy", self.client.get_cache_policy, Id=policy_id)
            config = answer["CachePolicy"]["CachePolicyConfig"] if answer is not None else None
            self._policies[policy_id] = (config, code)
        return self._policies[policy_id]

    def _query_strings(self, label: str, behavior: Mapping[str, Any]) -> Finding:
        fix = (
            f"use the managed cache policy CachingOptimized (658327ea-f89d-4fab-a63d-"
            f"7e88639e58f6) for the {label}, or set its query string behavior to none"
        )
        policy, code = self._cache_policy(behavior)
        if code is not None:
            return skipped("query-strings", "cloudfront:GetCachePolicy")
        if policy is not None:
            settings = policy["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"]
            behavior_name = settings.get("QueryStringBehavior", "none")
            in_key = behavior_name != "none"
            how = f"cache policy {policy.get('Name', behavior.get('CachePolicyId'))!r} "
            how += f"(QueryStringBehavior {behavior_name})"
        else:
            in_key = bool(behavior.get("ForwardedValues", {}).get("QueryString"))
            how = f"legacy cache settings (QueryString {str(in_key).lower()})"
        if in_key:
            return Finding(
                "query-strings",
                "problem",
                f"the {label} puts query strings in the cache key ({how}): hashed names never "
                "need them, and every `?x=...` variant of a URL is a cache miss that goes to "
                "the origin",
                fix,
            )
        return Finding("query-strings", "ok", f"the {label} ignores query strings ({how})")

    def _compression(self, label: str, behavior: Mapping[str, Any]) -> Finding:
        if not behavior.get("Compress"):
            return Finding(
                "compression",
                "problem",
                f"the {label} does not compress: CSS, JavaScript and SVG travel uncompressed",
                f"turn on 'Compress objects automatically' (Compress=true) for the {label}",
            )
        policy, _ = self._cache_policy(behavior)
        if policy is not None:
            encodings = policy["ParametersInCacheKeyAndForwardedToOrigin"]
            if not (
                encodings.get("EnableAcceptEncodingGzip")
                or encodings.get("EnableAcceptEncodingBrotli")
            ):
                return Finding(
                    "compression",
                    "problem",
                    f"the {label} compresses, but its cache policy enables neither gzip nor "
                    "Brotli, so CloudFront serves uncompressed copies",
                    "enable Gzip and Brotli in the cache policy (CachingOptimized has both)",
                )
        return Finding("compression", "ok", f"the {label} compresses responses")


def _behavior_for(
    config: Mapping[str, Any], base_url: str, newest: Manifest | None
) -> tuple[str, Mapping[str, Any]]:
    """The cache behavior CloudFront applies to asset URLs: the first path pattern matching an
    asset's path, else the default."""
    parts = urlsplit(base_url)
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    sample = next(iter(newest.values())).key if newest else "hashstore.css"
    asset = path + sample
    for behavior in config.get("CacheBehaviors", {}).get("Items", []) or []:
        pattern = "/" + str(behavior.get("PathPattern", "")).lstrip("/")
        if fnmatchcase(asset, pattern):
            return f"cache behavior {behavior['PathPattern']}", behavior
    return "default cache behavior", config["DefaultCacheBehavior"]


def _error_caching(config: Mapping[str, Any]) -> Finding:
    items = config.get("CustomErrorResponses", {}).get("Items", []) or []
    long = [
        (int(item["ErrorCode"]), int(item.get("ErrorCachingMinTTL", MAX_ERROR_CACHING_TTL)))
        for item in items
        if int(item["ErrorCode"]) in (403, 404)
        and int(item.get("ErrorCachingMinTTL", MAX_ERROR_CACHING_TTL)) > MAX_ERROR_CACHING_TTL
    ]
    if long:
        shown = ", ".join(f"{code} for {ttl} s" for code, ttl in long)
        return Finding(
            "error-caching",
            "problem",
            f"error answers are cached ({shown}): an asset requested before its upload "
            "finished keeps failing that long after it is there",
            f"set the error caching minimum TTL of 404 (and 403, which S3 answers for missing "
            f"keys without s3:ListBucket) to {MAX_ERROR_CACHING_TTL} s or less",
        )
    return Finding(
        "error-caching",
        "ok",
        f"404 and 403 answers are cached {MAX_ERROR_CACHING_TTL} s or less",
    )
