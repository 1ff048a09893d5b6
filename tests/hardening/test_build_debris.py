"""Killed builds leave trees and half-written archives in the cache; the next build and
``envctl cache prune`` sweep them (dead pid or old age), and never a live build's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envctl.build import debris
from envctl.build.cache import Cache
from tests.hardening.helpers import Repo, envctl, run

local_target = pytest.mark.parametrize("target_url", ["local"], indirect=True)


def leftovers(cache: Cache) -> tuple[list[Path], list[Path]]:
    trees = sorted((cache.root / "tmp").glob("envctl-*"))
    partial = sorted((cache.root / "archives").glob(".*.tmp"))
    return trees, partial


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def killed_build(cache: Cache) -> tuple[list[Path], list[Path]]:
    """SIGKILL a build while it packs (a half-written archive), beside the tree an install
    step of a killed process leaves (a kill can land in any step)."""
    result = envctl("build", "nlp", ENVCTL_TEST_CRASH_AT="build")
    assert result.returncode == -9, result.stderr
    tree = cache.tmp_dir / f"envctl-install-{dead_pid()}-x7k2"
    (tree / "packages" / "pkg").mkdir(parents=True)
    (tree / "packages" / "pkg" / "__init__.py").write_text("")
    trees, partial = leftovers(cache)
    assert trees == [tree] and partial, "the kill left no half-written archive"
    return trees, partial


@local_target
def test_cache_prune_removes_what_a_killed_build_left(
    repo: Repo, envctl_cache: Cache, capsys: pytest.CaptureFixture[str]
) -> None:
    trees, partial = killed_build(envctl_cache)
    code, out, _ = run(capsys, "cache", "prune", "--dry-run")
    assert code == 0 and all(str(p) in out for p in trees + partial), out
    assert leftovers(envctl_cache) == (trees, partial)
    code, out, err = run(capsys, "cache", "prune")
    assert code == 0, err
    assert "is gone" in out and "no build of that archive is running" in out
    assert leftovers(envctl_cache) == ([], [])


@local_target
def test_the_next_build_sweeps_a_killed_builds_debris(repo: Repo, envctl_cache: Cache) -> None:
    killed_build(envctl_cache)
    result = envctl("build", "nlp")
    assert result.returncode == 0, result.stderr
    assert leftovers(envctl_cache) == ([], [])


def test_live_builds_are_kept_and_old_trees_go_by_age(envctl_cache: Cache, tmp_path: Path) -> None:
    now = time.time()
    live = envctl_cache.tmp_dir / f"{debris.tree_prefix('build')}live"
    old = envctl_cache.tmp_dir / f"{debris.tree_prefix('build')}old"  # our pid, but a day old
    legacy = envctl_cache.tmp_dir / "envctl-build-k2j3h4"  # no pid in the name: age only
    for path in (live, old, legacy):
        (path / "tree").mkdir(parents=True)
    os.utime(old, (now - 2 * debris.MAX_AGE_S,) * 2)
    key = "a" * 64
    archives = envctl_cache.root / "archives"
    archives.mkdir(parents=True)
    writing = archives / f".{key}.tar.gz.x1y2.tmp"
    writing.write_bytes(b"half")
    # Another process is building that archive: it holds the archive's build lock.
    lock_path = envctl_cache.root / "filelocks" / f"archive-{key}.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from filelock import FileLock; "
         "l = FileLock(sys.argv[1]); l.acquire(); print('locked', flush=True); sys.stdin.read()",
         str(lock_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        swept = {s.path for s in debris.sweep(envctl_cache, now=now)}
    finally:
        holder.communicate("", timeout=60)
    assert swept == {old}
    assert live.exists() and legacy.exists() and writing.exists()
    assert {s.path for s in debris.sweep(envctl_cache, now=now)} == {writing}  # lock released
    later = now + 2 * debris.MAX_AGE_S
    assert {s.path for s in debris.sweep(envctl_cache, now=later)} == {live, legacy}
