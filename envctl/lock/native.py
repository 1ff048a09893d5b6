"""Recognising sdists that carry compiled code, from their member names alone.

Locking needs this before any build runs: a native sdist cannot be built for the cluster here,
so the resolver is told to prefer a version with wheels (see ``envctl.lock.pip_driver``).
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import Sequence

from envctl.errors import EnvctlError

NATIVE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".c++", ".pyx", ".f", ".f90", ".cu", ".rs", ".go", ".m", ".mm")
NATIVE_FILES = ("Cargo.toml", "meson.build", "CMakeLists.txt")


def sdist_members(path: Path) -> list[str]:
    """File names inside an sdist (``.tar.gz``/``.tar.bz2``/``.zip``)."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                return archive.namelist()
        with tarfile.open(path) as archive:
            return archive.getnames()
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise EnvctlError(f"{path.name} is not a readable sdist: {exc}") from None


def native_sources(members: Sequence[str]) -> list[str]:
    """Members that mean compiled code (C/C++/Cython/Fortran/Rust/... sources or build files)."""
    return sorted(m for m in members if m.lower().endswith(NATIVE_SUFFIXES) or m.rsplit("/", 1)[-1] in NATIVE_FILES)


def describe_sources(found: Sequence[str]) -> str:
    """The first few native sources, for messages."""
    return ", ".join(found[:3]) + (" ..." if len(found) > 3 else "")
