"""Unpack wheels into the ``packages/`` tree of an archive, the way an installer would.

Uses pypa/installer (the reference wheel installer) with a scheme whose ``purelib`` and
``platlib`` are both ``packages/`` — the pyodps-pack layout, so ``sys.path.insert(0,
"<archive>/packages")`` works on the cluster. Nothing is byte-compiled (the cluster's
interpreter writes its own caches; ``.pyc`` files bloat the archive and tie it to one
interpreter build), and bytecode some wheels ship is skipped too. Console scripts, headers and
``.data/data`` files land in a side directory that is not packed: scripts carry a host
interpreter path and none of them is importable.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Union

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file
from installer.sources import WheelFile
from installer.utils import Scheme

from envctl.errors import EnvctlError, one_line

PACKAGES_DIR = "packages"
UNPACKED_DIR = "_not_packed"
INSTALLER_NAME = b"envctl\n"


def _is_bytecode(path: str) -> bool:
    return path.endswith((".pyc", ".pyo")) or "__pycache__/" in path


class _NoBytecodeDestination(SchemeDictionaryDestination):
    """Skips compiled bytecode some wheels ship (and leaves it out of RECORD)."""

    def write_file(
        self,
        scheme: Scheme,
        path: Union[str, os.PathLike[str]],
        stream: BinaryIO,
        is_executable: bool,
    ) -> RecordEntry:
        if _is_bytecode(os.fspath(path)):
            return _SKIPPED
        return super().write_file(scheme, path, stream, is_executable)

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
    ) -> None:
        super().finalize_installation(
            scheme, record_file_path, [r for r in records if r[1] is not _SKIPPED]
        )


_SKIPPED = RecordEntry("__skipped__", None, None)


@dataclass(frozen=True)
class Installed:
    filename: str
    unpacked_bytes: int


def _directory(wheel: Path) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise EnvctlError(f"cannot install {wheel.name}: {one_line(str(exc))}") from None


def declared_size(wheel: Path) -> int:
    """Unpacked bytes the wheel's zip directory declares (bytecode excluded: it is skipped).

    Read before installing anything, so a small wheel that inflates to gigabytes is refused
    by the size budget instead of filling the disk.
    """
    return sum(i.file_size for i in _directory(wheel) if not _is_bytecode(i.filename))


def _check_record(source: WheelFile, names: list[str]) -> None:
    """RECORD must describe the wheel exactly: every member listed with its hash and size, no
    row for a file the wheel lacks (a ``../`` row is such a ghost), no control characters in
    names. pypa/installer validates the members; envctl adds the ghost rows and names."""
    bad = next((n for n in names if not n.isprintable()), None)
    if bad is not None:
        raise ValueError(f"member name {bad!r} contains a control character")
    try:
        source.validate_record(validate_contents=True)
    except ValueError as exc:
        # Bytecode is never installed, and older wheels list it without a hash (PEP 376 allows it).
        issues = [i for i in getattr(exc, "issues", [str(exc)]) if not _unhashed_bytecode(i)]
        if issues:
            raise _RecordProblem(issues) from None
    members = set(names)
    for row in parse_record_file(source.read_dist_info("RECORD").splitlines()):
        if row[0] not in members and (".." in row[0] or not _is_bytecode(row[0])):
            raise ValueError(f"RECORD lists {row[0]!r}, which the wheel does not contain")


class _RecordProblem(ValueError):
    def __init__(self, issues: list[str]) -> None:
        super().__init__("; ".join(issues))
        self.issues = issues


def _unhashed_bytecode(issue: str) -> bool:
    return issue.endswith(" is not included in RECORD") and any(
        _is_bytecode(word) for word in issue.split(" ") if word.endswith((".pyc", ".pyo"))
    )


def _issues(exc: Exception, wheel: Path) -> str:
    """installer's validation issues, without its "In <path>, " prefixes, on one line."""
    issues = getattr(exc, "issues", None) or [str(exc)]
    prefix = f"In {wheel}, "
    text = "; ".join(str(i).replace(prefix, "", 1) for i in issues[:3])
    more = f" (and {len(issues) - 3} more)" if len(issues) > 3 else ""
    return one_line(text + more)


_INSTALL_ERRORS = (
    InstallerError,
    InvalidRecordEntry,
    zipfile.BadZipFile,
    ValueError,
    KeyError,
    OSError,
)


def install_wheel(wheel: Path, tree: Path) -> Installed:
    """Install ``wheel`` under ``tree/packages`` (side files under ``tree/_not_packed``).

    Its RECORD is validated first (``_check_record``); any problem is one ``cannot install
    <wheel>: ...`` error and nothing of the wheel is written.
    """
    packages = tree / PACKAGES_DIR
    side = tree / UNPACKED_DIR
    scheme = {
        "purelib": str(packages),
        "platlib": str(packages),
        "headers": str(side / "include"),
        "scripts": str(side / "bin"),
        "data": str(side / "data"),
    }
    destination = _NoBytecodeDestination(
        scheme,
        interpreter="/usr/bin/env python3",
        script_kind="posix",
        bytecode_optimization_levels=(),
    )
    directory = _directory(wheel)
    size = sum(i.file_size for i in directory if not _is_bytecode(i.filename))
    try:
        with WheelFile.open(wheel) as source, warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", RuntimeWarning
            )  # installer skips shipped __pycache__, as we want
            _check_record(source, [i.filename for i in directory])
            install(source, destination, {"INSTALLER": INSTALLER_NAME})
    except FileExistsError as exc:  # before OSError, its base class
        clash = one_line(str(exc))
        raise EnvctlError(
            f"cannot install {wheel.name}: it overwrites a file of another package ({clash})"
        ) from None
    except _INSTALL_ERRORS as exc:
        raise EnvctlError(f"cannot install {wheel.name}: {_issues(exc, wheel)}") from None
    return Installed(wheel.name, size)


def installed_tops(wheel: Path) -> frozenset[str]:
    """The names ``install_wheel`` will create directly under ``packages/``, read from the
    wheel's directory alone (nothing is unpacked).

    A prediction, for packing while wheels still install: the packer checks it against the
    installed tree and falls back to packing after all installs when it is wrong.
    """
    tops: set[str] = set()
    for name in (i.filename for i in _directory(wheel)):
        parts = name.split("/")
        if name.endswith("/") or _is_bytecode(name):
            continue
        if parts[0].endswith(".data") and len(parts) > 1:
            if parts[1] in ("purelib", "platlib") and len(parts) > 2:
                tops.add(parts[2])
            continue
        tops.add(parts[0])
    return frozenset(tops)
