"""Where bytes go: an S3 bucket or a local directory, behind one :class:`Target` protocol."""

from __future__ import annotations

from ..errors import ConfigError
from ..settings import Settings
from .base import ObjectInfo, Target, release_key

__all__ = ["ObjectInfo", "Target", "open_target", "release_key"]


def open_target(settings: Settings) -> Target:
    """The target named by ``settings.target``: ``s3://bucket/prefix/`` or a directory."""
    if settings.target is None:
        raise ConfigError(
            "target is not set: give `s3://bucket/prefix/` or a directory "
            "(command line: --to; Django: OPTIONS['target']; Flask: HASHSTORE_TARGET)"
        )
    if settings.is_s3:
        from .s3 import S3Target  # boto3 is imported only when S3 is used

        return S3Target(settings)
    from .local import LocalTarget

    return LocalTarget(settings.target)
