"""lock/native: compiled code in an sdist is recognised from member names, before any build."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from envctl.errors import EnvctlError
from envctl.lock.native import describe_sources, native_sources, sdist_members

PURE = [
    "pkg-1.0/PKG-INFO",
    "pkg-1.0/pyproject.toml",
    "pkg-1.0/pkg/__init__.py",
    "pkg-1.0/README.c.md",
]


def _tar(path: Path, names: list[str], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name in names:
            info = tarfile.TarInfo(name)
            archive.addfile(info, io.BytesIO(b""))
    return path


def test_member_names_of_tar_and_zip_sdists(tmp_path: Path) -> None:
    names = ["pkg-1.0/PKG-INFO", "pkg-1.0/src/fast.c"]
    assert sdist_members(_tar(tmp_path / "pkg-1.0.tar.gz", names)) == names
    assert sdist_members(_tar(tmp_path / "pkg-1.0.tar.bz2", names, "w:bz2")) == names
    with zipfile.ZipFile(tmp_path / "pkg-1.0.zip", "w") as archive:
        for name in names:
            archive.writestr(name, "")
    assert sdist_members(tmp_path / "pkg-1.0.zip") == names


@pytest.mark.parametrize("filename", ["broken.tar.gz", "broken.zip", "missing.tar.gz"])
def test_an_unreadable_sdist_is_one_clear_error(tmp_path: Path, filename: str) -> None:
    if not filename.startswith("missing"):
        (tmp_path / filename).write_bytes(b"not an archive")
    with pytest.raises(EnvctlError, match=f"{filename} is not a readable sdist"):
        sdist_members(tmp_path / filename)


def test_pure_python_sdists_have_no_native_sources() -> None:
    assert native_sources(PURE) == []


@pytest.mark.parametrize(
    "member",
    [
        "pkg-1.0/src/fast.c",
        "pkg-1.0/src/FAST.CPP",
        "pkg-1.0/pkg/_speedups.pyx",
        "pkg-1.0/lib.rs",
        "pkg-1.0/solver.f90",
        "pkg-1.0/kernels/k.cu",
        "pkg-1.0/Cargo.toml",
        "pkg-1.0/sub/meson.build",
        "pkg-1.0/CMakeLists.txt",
    ],
)
def test_sources_and_build_files_of_compiled_code_are_found(member: str) -> None:
    assert native_sources([*PURE, member]) == [member]


def test_a_file_merely_named_like_a_build_file_elsewhere_is_not() -> None:
    assert native_sources(["pkg-1.0/docs/Cargo.toml.txt", "pkg-1.0/notCMakeLists.txt"]) == []


def test_descriptions_stay_short() -> None:
    assert describe_sources(["a.c"]) == "a.c"
    assert describe_sources(["a.c", "b.c", "c.c", "d.c", "e.c"]) == "a.c, b.c, c.c ..."
