"""envctl.files: atomic, durable writes (old file or new file, never half) and file digests."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from envctl import files


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_write_bytes_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "data.bin"
    files.write_bytes_atomic(dest, b"old")
    files.write_bytes_atomic(dest, b"new")
    assert dest.read_bytes() == b"new"
    assert _leftovers(dest.parent) == []


def test_text_and_json_writers(tmp_path: Path) -> None:
    files.write_text_atomic(tmp_path / "a.txt", "héllo")
    assert (tmp_path / "a.txt").read_bytes() == "héllo".encode()
    files.write_json_atomic(tmp_path / "a.json", {"b": 1, "a": [2]})
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    assert json.loads(text) == {"a": [2], "b": 1}
    assert text.index('"a"') < text.index('"b"'), "keys are sorted, so output is reproducible"


def test_an_error_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    dest = tmp_path / "lock.toml"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), files.atomic_writer(dest) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk on fire")
    assert dest.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_a_crash_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    """SIGKILL inside the block: no cleanup code runs, yet the destination is untouched."""
    dest = tmp_path / "state.json"
    dest.write_bytes(b"old")
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from envctl.files import atomic_writer
        with atomic_writer(Path({str(dest)!r})) as handle:
            handle.write(b"half of the new")
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL
    assert dest.read_bytes() == b"old"
    leftovers = _leftovers(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".state.json.")
    assert leftovers[0].endswith(files.TEMP_SUFFIX)


def test_file_and_directory_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", recording_fsync)
    files.write_bytes_atomic(tmp_path / "x", b"1")
    if sys.platform.startswith("linux"):
        assert synced == ["file", "dir"]
    else:
        assert len(synced) >= 1


def test_exclusive_creates_once_and_never_overwrites(tmp_path: Path) -> None:
    dest = tmp_path / "lease"
    files.write_bytes_atomic(dest, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        files.write_bytes_atomic(dest, b"second", exclusive=True)
    assert dest.read_bytes() == b"first"
    assert _leftovers(tmp_path) == []


def test_atomic_path_for_writers_that_want_a_path(tmp_path: Path) -> None:
    dest = tmp_path / "archive.tar.gz"
    dest.write_bytes(b"old")
    with files.atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent and tmp != dest
        tmp.write_bytes(b"new")
        assert dest.read_bytes() == b"old", "nothing is visible before the block ends"
    assert dest.read_bytes() == b"new"
    with pytest.raises(ValueError), files.atomic_path(dest) as tmp:
        tmp.write_bytes(b"broken")
        raise ValueError("hash mismatch")
    assert dest.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_atomic_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    dest = tmp_path / "exec" / "abc"
    with pytest.raises(OSError), files.atomic_directory(dest) as staging:
        (staging / "half").write_text("x")
        raise OSError("disk full")
    assert not dest.exists()
    assert _leftovers(dest.parent) == []
    with files.atomic_directory(dest) as staging:
        (staging / "pkg").mkdir()
        (staging / "pkg" / "__init__.py").write_text("")
    assert (dest / "pkg" / "__init__.py").is_file()
    assert _leftovers(dest.parent) == []


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_file_hexdigest_reads_in_chunks(tmp_path: Path, algorithm: str) -> None:
    data = os.urandom(files.CHUNK * 2 + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert files.file_hexdigest(path, algorithm) == hashlib.new(algorithm, data).hexdigest()
