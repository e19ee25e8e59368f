"""What ``hashstore doctor`` reports: one :class:`Finding` per check, and the store's capabilities.

Shared by the bucket checks (:mod:`.bucket`), the capability probes (:mod:`.probes`) and the
CloudFront checks (:mod:`.cloudfront`), with the error codes they all read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..targets.capabilities import CAPABILITIES

__all__ = ["CapabilityResult", "DoctorReport", "Finding"]

DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
CHECKSUM_REJECTED = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch"}
)
UNSUPPORTED = frozenset({"501", "NotImplemented", "InvalidArgument", "InvalidRequest"})
PRECONDITION = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of one check.

    .. versionadded:: 0.1
    """

    check: str
    status: str
    """``ok``, ``problem`` or ``skipped``."""
    message: str
    fix: str = ""
    """What to run or set, for a problem."""

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    """Whether the store honours one capability (:data:`~hashstore.targets.capabilities.
    CAPABILITIES`), and what it answered.

    .. versionadded:: 0.2
    """

    name: str
    honoured: bool | None
    """``True``, ``False``, or ``None``: not probed, denied, or an answer saying neither."""
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"capability": self.name, "honoured": self.honoured, "detail": self.detail}


@dataclass(frozen=True)
class DoctorReport:
    """Every finding of :func:`~hashstore.doctor.doctor`, and what the store honours.

    .. versionadded:: 0.1
    """

    target: str
    findings: tuple[Finding, ...]
    capabilities: tuple[CapabilityResult, ...] = field(default=())
    """One per capability probed, in :data:`~hashstore.targets.capabilities.CAPABILITIES`
    order (empty with ``probe=False``).

    .. versionadded:: 0.2
    """

    def honoured(self) -> Mapping[str, bool | None]:
        """``{capability: honoured}`` for every capability probed."""
        return {c.name: c.honoured for c in self.capabilities}

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "problem")

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per finding, the fix indented below each problem."""
        out = []
        for finding in self.findings:
            label = "PROBLEM" if finding.status == "problem" else finding.status
            out.append(f"{label:<8} {finding.check:<18} {finding.message}")
            if finding.fix:
                out += [
                    f"{'':<27} fix: {line}" if i == 0 else f"{'':<33}{line}"
                    for i, line in enumerate(finding.fix.splitlines())
                ]
        if self.capabilities:
            out.append(f"{'capability':<21} {'honoured':<9} what the store answered")
            for c in self.capabilities:
                said = {True: "yes", False: "NO", None: "unknown"}[c.honoured]
                out.append(f"{c.name:<21} {said:<9} {c.detail}")
        count = len(self.problems)
        out.append(
            f"{count} problem(s) in {self.target}" if count else f"no problems in {self.target}"
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "capabilities": [c.to_dict() for c in self.capabilities],
        }


def unsupported(check: str, code: str) -> Finding:
    """A check skipped because the store does not implement its API."""
    return Finding(check, "skipped", f"the store does not implement this API ({code})")


def skipped(check: str, permission: str) -> Finding:
    """A check skipped because the credentials may not make its request."""
    return Finding(check, "skipped", f"access denied: the credentials need {permission} to check")


def ordered(results: Mapping[str, CapabilityResult]) -> tuple[CapabilityResult, ...]:
    """``results`` in the order of :data:`~hashstore.targets.capabilities.CAPABILITIES`."""
    return tuple(results[name] for name in CAPABILITIES if name in results)
