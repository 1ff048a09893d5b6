"""Unpack wheels into the ``packages/`` tree of an archive, the way an installer would.

Uses pypa/installer (the reference wheel installer) with a scheme whose ``purelib`` and
``platlib`` are both ``packages/`` — the pyodps-pack layout, so ``sys.path.insert(0,
"<archive>/packages")`` works on the cluster. Nothing is byte-compiled (the cluster's
interpreter writes its own caches; ``.pyc`` files bloat the archive and tie it to one
interpreter build), and bytecode some wheels ship is skipped too. Console scripts, headers and ``.data/data`` files land in a side directory that is
not packed: scripts carry a host interpreter path and none of them is importable.
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
from installer.records import RecordEntry
from installer.sources import WheelFile
from installer.utils import Scheme

from envctl.errors import EnvctlError

PACKAGES_DIR = "packages"
UNPACKED_DIR = "_not_packed"
INSTALLER_NAME = b"envctl\n"


def _is_bytecode(path: str) -> bool:
    return path.endswith((".pyc", ".pyo")) or "__pycache__/" in path


class _NoBytecodeDestination(SchemeDictionaryDestination):
    """Skips compiled bytecode some wheels ship (and leaves it out of RECORD)."""

    def write_file(self, scheme: Scheme, path: Union[str, "os.PathLike[str]"], stream: BinaryIO, is_executable: bool) -> RecordEntry:
        if _is_bytecode(os.fspath(path)):
            return _SKIPPED
        return super().write_file(scheme, path, stream, is_executable)

    def finalize_installation(self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]) -> None:
        super().finalize_installation(scheme, record_file_path, [r for r in records if r[1] is not _SKIPPED])


_SKIPPED = RecordEntry("__skipped__", None, None)


@dataclass(frozen=True)
class Installed:
    filename: str
    unpacked_bytes: int


def install_wheel(wheel: Path, tree: Path) -> Installed:
    """Install ``wheel`` under ``tree/packages`` (side files under ``tree/_not_packed``)."""
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
        scheme, interpreter="/usr/bin/env python3", script_kind="posix", bytecode_optimization_levels=()
    )
    try:
        with WheelFile.open(wheel) as source, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # installer skips shipped __pycache__, as we want
            install(source, destination, {"INSTALLER": INSTALLER_NAME})
        with zipfile.ZipFile(wheel) as archive:
            size = sum(i.file_size for i in archive.infolist() if not _is_bytecode(i.filename))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise EnvctlError(f"cannot install {wheel.name}: {exc}") from None
    except FileExistsError as exc:
        raise EnvctlError(f"cannot install {wheel.name}: it overwrites a file of another package ({exc})") from None
    return Installed(wheel.name, size)
