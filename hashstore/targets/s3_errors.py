"""botocore errors as :class:`~hashstore.errors.TargetError`: what happened, where, what next.

:mod:`.s3` catches every botocore error where it calls the client and raises what
:func:`translate` returns, ``from`` the original; this module only decides the words (and which
codes mean what). Nothing else in hashstore looks at botocore's error codes, so the table of
codes, the permission each operation needs, and the advice for each failure live here, once.

Each error also carries a :attr:`~hashstore.errors.TargetError.reason`: the same sentence
without the object's key, so that a publish where many uploads fail the same way reports the
reason once with the keys it concerns (:class:`~hashstore.errors.PublishError`).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    FlexibleChecksumError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..errors import TargetError
from ..spelling import option

__all__ = [
    "CHECKSUM_CODES",
    "CONFLICT_CODES",
    "DENIED_CODES",
    "EXISTS_CODES",
    "NOT_FOUND_CODES",
    "RERUN",
    "ErrorContext",
    "error_code",
    "translate",
]

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
EXISTS_CODES = frozenset({"412", "PreconditionFailed"})
"""A create-only write (``If-None-Match: *``) found the key taken."""
CONFLICT_CODES = frozenset({"409", "ConditionalRequestConflict"})
"""A conditional write raced another write of the same key."""
DENIED_CODES = frozenset({"403", "AccessDenied", "AllAccessDisabled"})
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
    }
)
CHECKSUM_CODES = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch"}
)
"""The store rejected a request's body: it does not match the checksum sent with it."""
_UNSUPPORTED_CODES = frozenset({"501", "NotImplemented", "InvalidArgument", "InvalidRequest"})
_RETRYABLE_CODES = frozenset(
    {"500", "502", "503", "504", "SlowDown", "ServiceUnavailable", "InternalError"}
)
_REGION_CODES = frozenset(
    {
        "301",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
    }
)

_PERMISSIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "HeadObject": "s3:GetObject (and s3:ListBucket, so that a missing key answers 404)",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObjects": "s3:DeleteObject",
}
_WRITE_OPERATIONS = frozenset({"PutObject", "CreateMultipartUpload"})

_CREDENTIALS_HINT = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or " + option(
    "profile"
)
RERUN = "rerun to upload only what is still missing"


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What a message needs to know of the target besides the failed call."""

    bucket: str
    prefix: str
    """The target's prefix: empty or ending with ``/``."""
    endpoint_url: str
    acl: str | None
    retries: int

    def where(self, key: str | None) -> str:
        """``s3://bucket/prefix/key``, or the prefix's URL when no key is concerned."""
        return f"s3://{self.bucket}/{self.prefix}{key or ''}"


def error_code(exc: ClientError) -> str:
    """The S3 error code of a ``ClientError`` (its HTTP status when the answer had no body)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    if code:
        return code
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(status or "")


def translate(
    exc: Exception,
    operation: str,
    key: str | None,
    context: ErrorContext,
    *,
    kind: type[TargetError] = TargetError,
) -> TargetError:
    """The TargetError for a botocore error: what happened, where, and what to do.

    :param exc: the botocore error (``ClientError`` or any ``BotoCoreError``).
    :param operation: the S3 operation that failed (``PutObject``).
    :param key: the object's key relative to the prefix, when one object is concerned.
    :param kind: the class to return, a TargetError subclass :mod:`.s3` handles itself.
    """
    return kind(
        f"{operation} {context.where(key)}: {_explain(exc, operation, key, context)}",
        operation=operation,
        bucket=context.bucket,
        key=key,
        # The same words without the key, so that failures of many objects group by reason.
        reason=f"{operation} {context.where(None)}: {_explain(exc, operation, None, context)}",
    )


def _explain(exc: Exception, operation: str, key: str | None, context: ErrorContext) -> str:
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        return f"no valid AWS credentials ({exc}): {_CREDENTIALS_HINT}"
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError, ConnectionClosedError)):
        return (
            f"cannot reach {context.endpoint_url} ({exc}): check {option('endpoint_url')}, "
            f"{option('region')} and the network"
        )
    if isinstance(exc, FlexibleChecksumError):
        return (
            f"the body read from the store does not match its checksum ({exc}): the network "
            "corrupted it; rerun"
        )
    if isinstance(exc, ParamValidationError):
        return f"invalid request ({exc}): check {option('object_parameters')}"
    if not isinstance(exc, ClientError):
        return f"{type(exc).__name__}: {exc}"

    error = exc.response.get("Error", {})
    code = error_code(exc)
    message = str(error.get("Message") or "")
    said = f" (the store said: {code}: {message})" if message else f" ({code})"
    if code == "NoSuchBucket":
        return f"bucket {context.bucket!r} does not exist: create it or fix {option('target')}"
    if code == "NoSuchKey":
        return "no such object"
    if code == "AccessControlListNotSupported":
        return (
            "the bucket has ACLs disabled (Object Ownership: bucket owner enforced): remove "
            f"{option('acl')} and use CloudFront Origin Access Control"
        )
    if code in _CREDENTIAL_CODES:
        return f"no valid AWS credentials{said}: {_CREDENTIALS_HINT}"
    if code in DENIED_CODES:
        permission = _PERMISSIONS.get(operation, f"permission for {operation}")
        if context.acl and operation in _WRITE_OPERATIONS:
            permission += f" and s3:PutObjectAcl (because {option('acl')} is set)"
        resource = (
            f"arn:aws:s3:::{context.bucket}"
            if operation == "ListObjectsV2"
            else f"arn:aws:s3:::{context.bucket}/{context.prefix}*"
        )
        return (
            f"access denied: the credentials in use need {permission} on {resource}; grant "
            "it in the IAM or bucket policy"
        )
    if code in CHECKSUM_CODES:
        return (
            f"the store rejected the body of {key or 'the request'}: its checksum does not "
            f"match{said}; the file changed during upload or the network corrupted it; rerun"
        )
    if code in _UNSUPPORTED_CODES:
        text = " ".join(
            str(error.get(field) or "") for field in ("Message", "Header", "ArgumentName")
        ).lower()
        if "if-none-match" in text:
            return (
                f"this store does not support conditional writes{said}: set "
                f"{option('conditional_writes', False)}"
            )
        if "checksum" in text:
            return (
                f"this store does not support SHA-256 checksums{said}: set "
                f"{option('checksum', 'md5')} or {option('checksum', 'none')}"
            )
        if code in {"501", "NotImplemented"}:
            return (
                f"this store does not implement a header hashstore sent{said}: without "
                f"conditional writes set {option('conditional_writes', False)}; without SHA-256 "
                f"checksums set {option('checksum', 'md5')} or {option('checksum', 'none')}"
            )
    if code in _REGION_CODES:
        return f"the bucket is in another region{said}: set {option('region')}"
    if code == "RequestTimeTooSkewed":
        return f"this machine's clock is wrong{said}: synchronise it (NTP) and rerun"
    if code == "NoSuchUpload":
        return f"the multipart upload was aborted or expired{said}; {RERUN}"
    if code in {"EntityTooLarge", "EntityTooSmall"}:
        return (
            f"the store refused the size of the body{said}: check {option('multipart_chunksize')}"
        )
    if code in _RETRYABLE_CODES:
        return (
            f"the store kept failing after {context.retries} attempt(s){said}: rerun later, "
            f"lower {option('jobs')} or raise {option('retries')}"
        )
    return f"the store refused the request{said}"
