"""targets/local: a directory store whose writes are whole or absent, even across SIGKILL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from envctl.errors import EnvctlError
from envctl.targets.base import ObjectExists, ObjectMissing, TargetError
from envctl.targets.local import TEMP_MARKERS, LocalTarget


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("name", ["", "a/b", "a\\b", ".hidden", ".."])
def test_object_names_cannot_escape_or_hide(tmp_path: Path, name: str) -> None:
    with pytest.raises(EnvctlError, match="invalid object name"):
        LocalTarget(tmp_path).put_bytes(name, b"x")


def test_a_file_where_the_store_should_be_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("not a directory")
    with pytest.raises(EnvctlError, match="is not a directory"):
        LocalTarget(tmp_path / "store")


def test_the_store_is_created_on_first_write_and_lists_by_prefix(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path / "store")
    assert target.list("") == []
    target.put_bytes("envctl-b", b"2")
    target.put_bytes("envctl-a", b"1", temp=True)
    target.put_bytes("other", b"3")
    (tmp_path / "store" / ".hidden").write_text("never an object")
    listed = target.list("envctl-")
    assert [i.name for i in listed] == ["envctl-a", "envctl-b"]
    assert [i.temp for i in listed] == [True, False]
    assert (tmp_path / "store" / TEMP_MARKERS / "envctl-a").is_file()
    target.delete("envctl-a")
    assert not (tmp_path / "store" / TEMP_MARKERS / "envctl-a").exists()


def test_stat_reports_size_and_md5(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path)
    assert target.stat("nope") is None
    target.put_bytes("obj", b"hello")
    info = target.stat("obj")
    assert info is not None and (info.size, info.md5) == (5, _md5(b"hello"))


def test_put_file_with_the_wrong_md5_leaves_nothing(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path / "store")
    source = tmp_path / "archive.tar.gz"
    source.write_bytes(b"archive bytes")
    with pytest.raises(TargetError, match="does not match local md5"):
        target.put_file("envctl-x", source, md5=_md5(b"something else"))
    assert target.stat("envctl-x") is None
    assert target.leftovers(["envctl-"]) == []
    assert sorted(os.listdir(tmp_path / "store")) == []


def test_exclusive_writes_never_replace(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path)
    source = tmp_path / "a"
    source.write_bytes(b"first")
    target.put_file("obj", source, md5=_md5(b"first"))
    source.write_bytes(b"second")
    with pytest.raises(ObjectExists):
        target.put_file("obj", source, md5=_md5(b"second"))
    with pytest.raises(ObjectExists):
        target.create_exclusive("obj", b"third")
    assert target.read("obj") == b"first"
    assert target.leftovers(["obj"]) == []


def test_download_is_atomic_and_reports_progress(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path / "store")
    data = os.urandom(3 << 20)
    target.put_bytes("big", data)
    dest = tmp_path / "out" / "big.bin"
    seen: list[int] = []
    target.download("big", dest, progress=seen.append)
    assert dest.read_bytes() == data and sum(seen) == len(data)
    assert [p.name for p in dest.parent.iterdir()] == ["big.bin"]
    with pytest.raises(ObjectMissing):
        target.download("absent", tmp_path / "out" / "absent")
    assert not (tmp_path / "out" / "absent").exists()


def test_a_write_killed_mid_way_keeps_the_old_object_and_leaves_a_findable_staging_file(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    target = LocalTarget(store)
    target.put_bytes("envctl-state.json", b"old state")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from envctl.targets.local import LocalTarget
        LocalTarget(Path({str(store)!r})).put_bytes("envctl-state.json", b"new state")
        """
    )
    env = {**os.environ, "ENVCTL_TEST_CRASH_AT": "write"}  # staged, not yet in place
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, timeout=120
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert target.read("envctl-state.json") == b"old state"
    assert target.leftovers(["other-"]) == [], "only names under the given prefixes"
    leftovers = target.leftovers(["envctl-"])
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".envctl-state.json.")
    target.delete_leftover(leftovers[0].name)
    assert target.leftovers(["envctl-"]) == []
    with pytest.raises(EnvctlError, match="not a staging file"):
        target.delete_leftover("envctl-state.json")
    assert target.read("envctl-state.json") == b"old state"
