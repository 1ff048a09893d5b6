"""Facts about the *target* interpreter (the cluster's CPython), never the host's.

Everything that depends on "which Python will run this" — marker evaluation, wheel tag
compatibility, the full version written into a lock — is computed here from the spec's
``python`` and ``platform`` so resolution on a 3.11 laptop is correct for a 3.7 cluster.

A spec may say just ``"3.7"``. That must not silently mean 3.7.0 (markers such as
``python_full_version >= "3.7.4"`` would flip), so each minor maps to a documented default
patch level: the last release of that minor that shipped binary installers, i.e. the last
bug-fix release, which is what managed runtimes are built from — except where a MaxCompute UDF
runtime fixes the patch level (``envctl.spec.runtimes``): ``"3.7"`` means 3.7.3, the version
MaxCompute runs. Minors still in their bug-fix phase use their first release, the most
conservative choice. Write a full version (``"3.7.9"``) in the spec to pin another patch level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

from envctl.errors import EnvctlError

DEFAULT_PATCH_LEVELS: dict[tuple[int, int], int] = {
    (3, 6): 8,
    (3, 7): 3,  # MaxCompute's Python 3 UDF runtime (cp37) is CPython 3.7.3
    (3, 8): 10,
    (3, 9): 13,
    (3, 10): 11,
    (3, 11): 9,
    (3, 12): 10,
    (3, 13): 0,
}

_PLATFORM = re.compile(
    r"^(?:manylinux(?P<legacy>1|2010|2014)|manylinux_(?P<major>\d+)_(?P<minor>\d+))_(?P<arch>x86_64|aarch64|i686)$"
)
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
_LEGACY_ALIAS = {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}


def full_version(python: str) -> str:
    """``"3.7"`` -> ``"3.7.3"`` (the documented default); a full version is returned as is."""
    parts = python.strip().split(".")
    try:
        numbers = tuple(int(p) for p in parts)
    except ValueError:
        raise EnvctlError(f"python {python!r} is not a version such as '3.11' or '3.7.9'") from None
    if len(numbers) == 3:
        return ".".join(map(str, numbers))
    if len(numbers) != 2 or numbers not in DEFAULT_PATCH_LEVELS:
        known = ", ".join(f"{a}.{b}" for a, b in DEFAULT_PATCH_LEVELS)
        raise EnvctlError(
            f"python {python!r} is not a supported target; use one of {known} or a full version"
        )
    return f"{numbers[0]}.{numbers[1]}.{DEFAULT_PATCH_LEVELS[numbers]}"  # type: ignore[index, unused-ignore]


def platform_tags(platform: str) -> list[str]:
    """All wheel platform tags a ``manylinux`` target accepts, most specific first.

    ``manylinux2014_x86_64`` accepts ``manylinux_2_17`` down to ``manylinux_2_5`` and the
    legacy aliases ``manylinux2014``/``manylinux2010``/``manylinux1`` (PEP 600). The host's
    ``linux_x86_64`` tag is deliberately absent: such wheels only run where they were built.
    """
    match = _PLATFORM.match(platform)
    if not match:
        raise EnvctlError(
            f"platform {platform!r} is not a manylinux platform tag such as 'manylinux2014_x86_64'"
        )
    arch = match["arch"]
    glibc_major, glibc_minor = (
        _LEGACY_GLIBC[match["legacy"]]
        if match["legacy"]
        else (int(match["major"]), int(match["minor"]))
    )
    tags: list[str] = []
    for minor in range(glibc_minor, 4, -1):
        tags.append(f"manylinux_{glibc_major}_{minor}_{arch}")
        alias = _LEGACY_ALIAS.get((glibc_major, minor))
        if alias:
            tags.append(f"{alias}_{arch}")
    return tags


@dataclass(frozen=True)
class TargetPython:
    """The interpreter and platform an environment runs on in the cluster."""

    version: str  # full, e.g. "3.11.9"
    platform: str  # e.g. "manylinux2014_x86_64"

    @classmethod
    def of(cls, python: str, platform: str) -> TargetPython:
        platform_tags(platform)  # validate early
        return cls(full_version(python), platform)

    @property
    def version_info(self) -> tuple[int, int, int]:
        major, minor, micro = (int(p) for p in self.version.split("."))
        return major, minor, micro

    @property
    def minor(self) -> str:
        """``"3.11"``."""
        return "{}.{}".format(*self.version_info)

    @property
    def nodot(self) -> str:
        """``"311"``, as in ``cp311``."""
        return "{}{}".format(*self.version_info)

    @property
    def abi(self) -> str:
        """CPython's ABI tag: ``cp37m`` before 3.8 (pymalloc builds), ``cp311`` after."""
        return f"cp{self.nodot}m" if self.version_info[:2] < (3, 8) else f"cp{self.nodot}"

    @property
    def arch(self) -> str:
        match = _PLATFORM.match(self.platform)
        assert match is not None
        return match["arch"]

    @cached_property
    def platforms(self) -> list[str]:
        return platform_tags(self.platform)

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker variables as the target interpreter would report them."""
        return {
            "implementation_name": "cpython",
            "implementation_version": self.version,
            "os_name": "posix",
            "platform_machine": self.arch,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": self.version,
            "python_version": self.minor,
            "sys_platform": "linux",
        }

    def evaluate(self, marker: str, extra: str = "") -> bool:
        """Does ``marker`` hold on the target (not on the host running envctl)?"""
        return Marker(marker).evaluate({**self.marker_environment(), "extra": extra})

    @cached_property
    def tags(self) -> list[Tag]:
        """Compatible wheel tags, best first: cp3X/abi, abi3, none, then py3*/any."""
        version = self.version_info[:2]
        interpreter = f"cp{self.nodot}"
        return [
            *cpython_tags(version, abis=[self.abi], platforms=self.platforms),
            *compatible_tags(version, interpreter=interpreter, platforms=self.platforms),
        ]

    @cached_property
    def _tag_rank(self) -> dict[Tag, int]:
        return {tag: i for i, tag in enumerate(reversed(self.tags))}

    def wheel_rank(self, filename: str) -> int:
        """Higher is better; -1 when the wheel cannot run on the target."""
        _, _, _, wheel_tags = parse_wheel_filename(filename)
        return max((self._tag_rank.get(tag, -1) for tag in wheel_tags), default=-1)

    def supports_wheel(self, filename: str) -> bool:
        return self.wheel_rank(filename) >= 0

    def uv_platform(self) -> str:
        """uv's ``--python-platform`` spelling, e.g. ``x86_64-manylinux2014``."""
        match = _PLATFORM.match(self.platform)
        assert match is not None
        flavour = (
            f"manylinux{match['legacy']}"
            if match["legacy"]
            else f"manylinux_{match['major']}_{match['minor']}"
        )
        return f"{match['arch']}-{flavour}"

    def requires_python(self) -> str:
        """The PEP 751 ``requires-python`` of a lock for exactly this interpreter."""
        return f"=={self.version}"

    def environment_marker(self) -> str:
        """The PEP 751 ``environments`` entry: where this single-target lock is valid."""
        return (
            f"python_full_version == '{self.version}' and implementation_name == 'cpython' "
            f"and sys_platform == 'linux' and platform_machine == '{self.arch}'"
        )
