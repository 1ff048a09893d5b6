"""Sweep what killed builds leave in the cache: build trees in ``<cache>/tmp`` and half-written
``*.tmp`` files in ``<cache>/archives``.

A SIGKILLed ``build`` never runs its cleanup, so each kill can leave a whole unpacked
environment behind. A tree is debris when the process that made it is gone (its pid is in the
name, ``envctl-build-<pid>-...``) or, whatever the pid says (pids are reused, and a cache may
be shared across pid namespaces), when it is older than ``max_age``. An archive ``.tmp`` file
is debris when no process holds that archive's build lock (builders write archives only
under it) or when it is older than ``max_age``.

The sweep runs before every fresh build and in ``envctl cache prune``.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import Timeout

from envctl.build.cache import Cache
from envctl.files import TEMP_SUFFIX

TREE_PREFIXES = ("envctl-build-", "envctl-install-", "envctl-sdist-", "envctl-native-")
MAX_AGE_S = 24 * 3600.0
_PID = re.compile(r"^envctl-(?:build|install|sdist|native)-(?P<pid>\d+)-")
_ARCHIVE_TMP = re.compile(r"^\.(?P<key>[0-9a-f]{64})\.(?:tar\.gz|json)\.")


def tree_prefix(kind: str) -> str:
    """The temporary-directory prefix a build step of ``kind`` (install, sdist, native) uses:
    it names the pid."""
    return f"envctl-{kind}-{os.getpid()}-"


@dataclass(frozen=True)
class Swept:
    path: Path
    size: int
    reason: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _size(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(p.lstat().st_size for p in path.rglob("*"))
        return path.lstat().st_size
    except OSError:
        return 0


def _tree_reason(path: Path, now: float, max_age: float) -> str | None:
    match = _PID.match(path.name)
    if match and not _alive(int(match["pid"])):
        return f"left by process {match['pid']}, which is gone"
    if now - path.lstat().st_mtime > max_age:
        return "older than a day"
    return None


def _archive_tmp_reason(path: Path, cache: Cache, now: float, max_age: float) -> str | None:
    if now - path.lstat().st_mtime > max_age:
        return "older than a day"
    match = _ARCHIVE_TMP.match(path.name)
    if match is None:
        return None
    try:
        with cache.filelock(f"archive-{match['key']}").acquire(timeout=0):
            return "no build of that archive is running"
    except Timeout:
        return None


def sweep(
    cache: Cache, *, now: float, max_age: float = MAX_AGE_S, dry_run: bool = False
) -> list[Swept]:
    """Remove (or with ``dry_run`` only list) the cache's build debris; what was swept."""
    found: list[Swept] = []
    tmp = cache.root / "tmp"
    trees = [p for p in tmp.iterdir() if p.name.startswith(TREE_PREFIXES)] if tmp.is_dir() else []
    for path in trees:
        try:
            reason = _tree_reason(path, now, max_age)
        except OSError:
            continue
        if reason:
            found.append(Swept(path, _size(path), reason))
    archives = cache.root / "archives"
    if archives.is_dir():
        for path in archives.glob(f".*{TEMP_SUFFIX}"):
            try:
                reason = _archive_tmp_reason(path, cache, now, max_age)
            except OSError:
                continue
            if reason:
                found.append(Swept(path, _size(path), reason))
    if not dry_run:
        for item in found:
            if item.path.is_dir() and not item.path.is_symlink():
                shutil.rmtree(item.path, ignore_errors=True)
            else:
                item.path.unlink(missing_ok=True)
    return found
