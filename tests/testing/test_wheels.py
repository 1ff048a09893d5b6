"""The tiny test distributions are byte-stable: their hashes are the same on every run."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from pathlib import Path

import pytest

from envctl.testing.native_sdist import make_tiny_sdist
from envctl.testing.wheels import Dist, sdist_bytes

DIST = Dist(
    "tiny-pkg",
    "1.0",
    {"tiny_pkg/__init__.py": "x = 1\n", "tiny_pkg/a.py": b"a = 2\n"},
    sdist=True,
    extra_sdist_files={"README.txt": "hello\n"},
)


def _a_day_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the clock gzip and tarfile would read by a day (an injected clock, no sleeping)."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86400)


def test_sdist_bytes_are_identical_across_calls_and_clocks(monkeypatch: pytest.MonkeyPatch):
    first = sdist_bytes(DIST)
    _a_day_later(monkeypatch)
    assert sdist_bytes(DIST) == first
    assert first[4:8] == b"\0\0\0\0"  # gzip header: no time
    assert gzip.decompress(first)  # one valid gzip member
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) and "tiny_pkg-1.0/PKG-INFO" in names
    assert {(m.mtime, m.mode, m.uid, m.gid, m.uname, m.gname) for m in members} == {
        (1577836800, 0o644, 0, 0, "", "")
    }


def test_tiny_native_sdist_is_byte_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    first = make_tiny_sdist(tmp_path / "one").read_bytes()
    _a_day_later(monkeypatch)
    assert make_tiny_sdist(tmp_path / "two").read_bytes() == first
