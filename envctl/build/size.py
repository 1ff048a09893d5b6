"""Archive size budget: warn when an environment grows large, fail above MaxCompute's limit.

MaxCompute rejects a single resource above 2048 MB, so an archive that large can never be
used; well below that, large archives still slow every job start, hence the warning level.
Both limits come from flags, else ``ENVCTL_WARN_SIZE_MB``/``ENVCTL_MAX_SIZE_MB``, else defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from envctl import settings
from envctl.errors import EnvctlError

MB = 1024 * 1024


@dataclass(frozen=True)
class SizeBudget:
    warn_bytes: int
    max_bytes: int

    @classmethod
    def from_settings(cls, warn_mb: Optional[float] = None, max_mb: Optional[float] = None) -> "SizeBudget":
        warn = warn_mb if warn_mb is not None else settings.WARN_SIZE_MB.get()
        limit = max_mb if max_mb is not None else settings.MAX_SIZE_MB.get()
        if warn <= 0 or limit <= 0:
            raise EnvctlError("size limits must be positive numbers of megabytes")
        return cls(int(warn * MB), int(limit * MB))


def human(size: int) -> str:
    return f"{size / MB:.1f} MB"


def largest_summary(largest: Sequence[tuple[str, int]], count: int = 5) -> str:
    """``"pandas 55.2 MB, numpy 39.0 MB, ..."`` (unpacked sizes, largest first)."""
    return ", ".join(f"{name} {human(size)}" for name, size in list(largest)[:count])


def check_size(budget: SizeBudget, size: int, largest: Sequence[tuple[str, int]]) -> Optional[str]:
    """A warning when above the warn level; an EnvctlError when above the hard limit."""
    if size > budget.max_bytes:
        raise EnvctlError(
            f"archive is {human(size)}, above the {human(budget.max_bytes)} limit for one MaxCompute resource; "
            f"largest packages: {largest_summary(largest)}. Exclude packages the cluster provides or split the environment"
        )
    if size > budget.warn_bytes:
        return f"archive is {human(size)} (warning level {human(budget.warn_bytes)}); largest packages: {largest_summary(largest)}"
    return None
