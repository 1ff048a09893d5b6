"""``extract_archive``: envctl archives round-trip; hostile entries are refused before writing."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from envctl.build.archive import extract_archive, write_archive
from envctl.errors import EnvctlError


def test_written_archive_extracts_to_the_same_tree(tmp_path: Path):
    (tmp_path / "tree" / "packages" / "pkg").mkdir(parents=True)
    (tmp_path / "tree" / "packages" / "pkg" / "__init__.py").write_text("x = 1\n")
    archive = tmp_path / "a.tar.gz"
    write_archive(tmp_path / "tree", archive, progress=False)
    extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "packages" / "pkg" / "__init__.py").read_text() == "x = 1\n"


def _tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo("packages/ok.py")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        member.size = len(data) if member.isreg() else 0
        tar.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escaped.py"),
        tarfile.TarInfo("packages/../../escaped.py"),
        tarfile.TarInfo("/tmp/absolute.py"),
        _symlink("packages/link", "/etc/passwd"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink"],
)
def test_unsafe_entries_are_refused_and_nothing_is_written(tmp_path: Path, member: tarfile.TarInfo):
    archive = _tar_with(tmp_path / "bad.tar.gz", member, b"boom")
    dest = tmp_path / "dest" / "inner"
    dest.mkdir(parents=True)
    with pytest.raises(EnvctlError, match="contains an unsafe entry"):
        extract_archive(archive, dest)
    assert not any(dest.iterdir()) and not (tmp_path / "dest" / "escaped.py").exists()


def test_sibling_directory_with_a_common_prefix_is_outside(tmp_path: Path):
    archive = _tar_with(tmp_path / "bad.tar.gz", tarfile.TarInfo("../inner-evil/x.py"), b"x")
    with pytest.raises(EnvctlError, match="unsafe entry"):
        extract_archive(archive, tmp_path / "inner")


def test_a_file_that_is_not_an_archive_is_a_clear_error(tmp_path: Path):
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not a tarball")
    with pytest.raises(EnvctlError, match="is not a readable archive"):
        extract_archive(bogus, tmp_path / "out")
