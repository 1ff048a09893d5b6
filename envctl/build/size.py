"""Archive size budget: warn when an environment grows large, fail above MaxCompute's limit.

MaxCompute rejects a single resource above 2048 MB, so an archive that large can never be
used; well below that, large archives still slow every job start, hence the warning level.
Both limits are in MiB and come from flags, else ``ENVCTL_WARN_SIZE_MB``/``ENVCTL_MAX_SIZE_MB``,
else defaults.

The compressed size says little about what unpacking costs: a 0.7 MB wheel can hold a
700 MiB file, and every UDF worker and ``envctl exec`` would unpack it. ``UnpackBudget``
caps the unpacked bytes (``ENVCTL_MAX_UNPACKED_MB``, default 4096) and the expansion ratio of
anything unpacking to more than 64 MiB (``ENVCTL_MAX_UNPACK_RATIO``, default 100:1; real
wheels and archives expand 2-10 times). It is checked against the sizes an archive
*declares* (a wheel's zip directory, a tar's headers), before a byte is written.
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
    def from_settings(
        cls, warn_mb: Optional[float] = None, max_mb: Optional[float] = None
    ) -> SizeBudget:
        warn = warn_mb if warn_mb is not None else settings.WARN_SIZE_MB.get()
        limit = max_mb if max_mb is not None else settings.MAX_SIZE_MB.get()
        if warn <= 0 or limit <= 0:
            raise EnvctlError("size limits must be positive numbers of megabytes")
        return cls(int(warn * MB), int(limit * MB))


UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human(size: float) -> str:
    """The one size format of every command and message: ``48138436`` -> ``45.9 MiB``.

    Binary units throughout (MaxCompute's single-resource limit is 2048 MiB), so a number
    printed by ``build``, ``status``, ``plan`` and ``apply`` means the same everywhere.
    """
    value = float(size)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def largest_summary(largest: Sequence[tuple[str, int]], count: int = 5) -> str:
    """``"pandas 55.2 MiB, numpy 39.0 MiB, ..."`` (unpacked sizes, largest first)."""
    return ", ".join(f"{name} {human(size)}" for name, size in list(largest)[:count])


def check_size(budget: SizeBudget, size: int, largest: Sequence[tuple[str, int]]) -> Optional[str]:
    """A warning when above the warn level; an EnvctlError when above the hard limit."""
    if size > budget.max_bytes:
        raise EnvctlError(
            f"archive is {human(size)}, above the {human(budget.max_bytes)} limit "
            "for one MaxCompute resource; "
            f"largest packages: {largest_summary(largest)}. "
            "Exclude packages the cluster provides or split the environment"
        )
    if size > budget.warn_bytes:
        return (
            f"archive is {human(size)} (warning level {human(budget.warn_bytes)}); "
            f"largest packages: {largest_summary(largest)}"
        )
    return None


RATIO_FLOOR = 64 * MB  # below this, a high ratio (a file of zeros, say) costs nothing


@dataclass(frozen=True)
class UnpackBudget:
    """Limits on what unpacking a wheel or an archive may write (see the module docstring)."""

    max_bytes: int
    max_ratio: float

    @classmethod
    def from_settings(cls) -> UnpackBudget:
        return cls(int(settings.MAX_UNPACKED_MB.get() * MB), settings.MAX_UNPACK_RATIO.get())

    def check(self, what: str, unpacked: int, packed: int | None = None) -> None:
        """Raise when ``what`` (``packed`` bytes on disk) would unpack to too much."""
        if unpacked > self.max_bytes:
            raise EnvctlError(
                f"{what} unpacks to {human(unpacked)}, above the {human(self.max_bytes)} limit "
                f"({settings.MAX_UNPACKED_MB.name})"
            )
        if (
            packed is not None
            and unpacked > RATIO_FLOOR
            and unpacked > self.max_ratio * max(packed, 1)
        ):
            raise EnvctlError(
                f"{what} unpacks to {human(unpacked)} from {human(packed)} "
                f"({unpacked / max(packed, 1):.0f}:1, above {self.max_ratio:.0f}:1; "
                "a decompression "
                f"bomb?); raise {settings.MAX_UNPACK_RATIO.name} if it is genuine"
            )
