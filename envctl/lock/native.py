"""Recognising sdists that carry compiled code, from their member names alone.

Locking needs this before any build runs: depending on the spec's ``native_builds`` policy the
resolver prefers a version with wheels or accepts the sdist (see ``envctl.lock.pip_driver``).
Only C, C++ and Cython built by setuptools-style ``CC``/``CXX`` builds can be compiled for the
cluster (``envctl.build.native``); Fortran, Rust, CUDA, Go, Objective-C and CMake/meson
projects cannot, whatever the policy.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import Sequence

from envctl.errors import EnvctlError

NATIVE_SUFFIXES = (
    ".c",
    ".cc",
    ".cpp",
    ".cxx",
    ".c++",
    ".pyx",
    ".f",
    ".f90",
    ".cu",
    ".rs",
    ".go",
    ".m",
    ".mm",
)
NATIVE_FILES = ("Cargo.toml", "meson.build", "CMakeLists.txt")
# What envctl.build.native cannot compile: no front end in zig, or a build system it does not drive.
UNBUILDABLE_SUFFIXES = (".f", ".f90", ".cu", ".rs", ".go", ".m", ".mm")


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
    return sorted(
        m
        for m in members
        if m.lower().endswith(NATIVE_SUFFIXES) or m.rsplit("/", 1)[-1] in NATIVE_FILES
    )


def describe_sources(found: Sequence[str]) -> str:
    """The first few native sources, for messages."""
    return ", ".join(found[:3]) + (" ..." if len(found) > 3 else "")


def unbuildable_sources(members: Sequence[str]) -> list[str]:
    """Members that mean compiled code envctl cannot build (Fortran, Rust, CMake, meson, ...)."""
    return sorted(
        m
        for m in members
        if m.lower().endswith(UNBUILDABLE_SUFFIXES) or m.rsplit("/", 1)[-1] in NATIVE_FILES
    )
