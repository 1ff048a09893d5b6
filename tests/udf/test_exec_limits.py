"""``envctl exec`` bounds its disk use: an unpacked-size budget and an LRU-collected cache."""

from __future__ import annotations

import io
import os
import sys
import tarfile
import time
from pathlib import Path

import pytest

from envctl.cli import main
from envctl.targets import open_target
from envctl.udf.local import RECENT_S, collect_exec_cache
from tests.udf.test_exec import GREETER

MB = 1024 * 1024


def bomb_archive(member_bytes: int) -> bytes:
    """A small tar.gz laid out like envctl's whose one member declares ``member_bytes`` of zeros."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("packages/zeros.bin")
        info.size = member_bytes
        tar.addfile(info, io.BytesIO(bytes(member_bytes)))
    return buffer.getvalue()


def test_exec_refuses_an_archive_whose_members_exceed_the_unpacked_budget(
    project, deploy, capfd, monkeypatch
):
    monkeypatch.setenv("ENVCTL_MAX_UNPACKED_MB", "2")
    info = deploy(open_target(None, project), "nlp", bomb_archive(3 * MB))
    assert main(["exec", "nlp", "--", sys.executable, "-c", "pass"]) == 1
    err = capfd.readouterr().err
    assert "cannot unpack" in err and "unpacks to 3.0 MiB, above the 2.0 MiB limit" in err
    assert "Traceback" not in err
    exec_dir = Path(os.environ["ENVCTL_CACHE_DIR"]) / "exec"
    assert not (exec_dir / info.sha256).exists()
    assert not [p for p in exec_dir.iterdir() if p.name.startswith(".")], "staging left behind"


def test_exec_refuses_a_decompression_bomb_by_ratio(project, deploy, capfd):
    payload = bomb_archive(80 * MB)  # ~80 KB compressed: 1000:1
    deploy(open_target(None, project), "nlp", payload)
    assert main(["exec", "nlp", "--", sys.executable, "-c", "pass"]) == 1
    assert "a decompression bomb?" in capfd.readouterr().err


def _entry(path: Path, size: int, age: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(b"x" * size)
    else:
        (path / "packages").mkdir(parents=True)
        (path / "packages" / "data").write_bytes(b"x" * size)
    os.utime(path, (now - age, now - age))
    return path


def test_exec_cache_collection_deletes_least_recently_used_first(tmp_path: Path):
    now = 1_000_000.0
    root = tmp_path / "exec"
    oldest = _entry(root / ("a" * 64), 400, 3 * RECENT_S, now)
    old_archive = _entry(root / "archives" / f"{'b' * 64}.tar.gz", 400, 2.5 * RECENT_S, now)
    older_kept = _entry(root / ("c" * 64), 400, 2 * RECENT_S, now)
    recent = _entry(root / ("d" * 64), 400, RECENT_S / 2, now)
    removed = collect_exec_cache(900, now=now, keep=[older_kept], root=root)
    assert removed == [oldest, old_archive]
    assert not oldest.exists() and not old_archive.exists()
    assert older_kept.exists() and recent.exists()  # kept: in use, and used within the hour
    assert not [p for p in root.iterdir() if p.name.startswith(".trash")]
    assert collect_exec_cache(900, now=now, root=root) == [older_kept]  # now over the cap alone


def test_exec_marks_its_tree_as_used_and_collects_the_rest(project, deploy, monkeypatch):
    monkeypatch.setenv("ENVCTL_EXEC_CACHE_MB", "0.000001")
    root = Path(os.environ["ENVCTL_CACHE_DIR"]) / "exec"
    stale = _entry(root / ("e" * 64), 1000, 10 * RECENT_S, time.time())
    info = deploy(open_target(None, project), "nlp", GREETER)
    assert (
        main(["exec", "nlp", "--python", sys.executable, "--", "python", "-c", "import greeter"])
        == 0
    )
    assert not stale.exists()
    assert (root / info.sha256).is_dir()


@pytest.mark.parametrize("flag, seen", [((), "sekret-for-exec"), (("--no-cloud-env",), "None")])
def test_exec_passes_the_cloud_secret_unless_told_not_to(
    project, deploy, capfd, monkeypatch, flag, seen
):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sekret-for-exec")
    deploy(open_target(None, project), "nlp", GREETER)
    show = "import os; print(os.environ.get('ALIBABA_CLOUD_ACCESS_KEY_SECRET'))"
    code = main(["exec", "nlp", *flag, "--python", sys.executable, "--", "python", "-c", show])
    out = capfd.readouterr()
    assert code == 0, out.err
    assert out.out.strip() == seen
