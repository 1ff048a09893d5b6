"""Running UDF code locally against the exact archive the cluster gets (``envctl exec``).

The archive comes from the target (the deployed current version, downloaded once) or from
the local build cache (the archive ``envctl build`` made from the committed lock). It is
unpacked once per sha256 under ``<cache>/exec/<sha256>`` and run in an isolated venv made from
the base CPython of the environment's version (:mod:`envctl.build.sandbox`): only the stdlib,
the archive's ``packages/`` and the spec's excluded (cluster-provided) packages import, so a
dependency missing from the archive fails locally as it would on the cluster.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from envctl import settings
from envctl.build import sandbox
from envctl.build.archive import extract_archive
from envctl.build.builder import cached_archive
from envctl.build.cache import Cache
from envctl.build.install import PACKAGES_DIR
from envctl.build.size import MB, UnpackBudget
from envctl.deploy.state import VersionInfo
from envctl.errors import EnvctlError
from envctl.files import atomic_directory, file_hexdigest, is_hex_digest
from envctl.spec.project import Project, cache_dir
from envctl.targets.base import Target

SOURCES = ("auto", "deployed", "local")
RECENT_S = 3600.0  # entries used this recently are never collected (a run may be using them)


@dataclass(frozen=True)
class LocalArchive:
    """An archive file on this machine and where it came from (for messages)."""

    path: Path
    sha256: str
    origin: str


def fetch_deployed(target: Target, version: VersionInfo) -> LocalArchive:
    """Download the deployed archive once into the cache, verified against its sha256."""
    dest = cache_dir() / "exec" / "archives" / f"{_digest(version.sha256)}.tar.gz"
    origin = f"{version.resource} ({version.label}) from {target.url}"
    if dest.is_file() and file_hexdigest(dest) == version.sha256:
        _touch(dest)
        return LocalArchive(dest, version.sha256, origin)
    target.download(version.resource, dest)
    actual = file_hexdigest(dest)
    if actual != version.sha256:
        dest.unlink(missing_ok=True)
        raise EnvctlError(
            f"downloaded {version.resource} has sha256 {actual}, the state records {version.sha256}"
        )
    return LocalArchive(dest, actual, origin)


def _digest(sha256: str) -> str:
    """``sha256`` if it is one (it names cache paths); anything else is refused, never joined."""
    if not is_hex_digest(sha256):
        raise EnvctlError(f"refusing archive digest {sha256[:80]!r}: not a sha256")
    return sha256


def built_archive(project: Project, environment: str) -> Optional[LocalArchive]:
    """The build cache's archive for the environment's committed lock, if it was built here."""
    from envctl.lock.lockfile import read_lock

    lock_file = project.lock_path(environment)
    if not lock_file.is_file():
        return None
    built = cached_archive(Cache.default(), read_lock(lock_file).lock_hash())
    if built is None:
        return None
    return LocalArchive(built.path, built.sha256, f"local build of {lock_file.name}")


def unpack(archive: LocalArchive) -> Path:
    """The archive's tree under ``<cache>/exec/<sha256>``, extracted once and reused."""
    dest = cache_dir() / "exec" / _digest(archive.sha256)
    if dest.is_dir():
        _touch(dest)
        return dest
    lock = Cache.default().filelock(f"exec-{archive.sha256}")
    with lock:
        if dest.is_dir():
            return dest
        try:
            with atomic_directory(dest) as staging:
                extract_archive(archive.path, staging, UnpackBudget.from_settings())
        except (EnvctlError, OSError) as exc:
            raise EnvctlError(f"cannot unpack {archive.origin}: {exc}") from None
    return dest


def _touch(path: Path) -> None:
    """Mark a cache entry as used now (its mtime is what the LRU collection orders by)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _tree_bytes(path: Path) -> int:
    if not path.is_dir() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*"))


def exec_cache_entries(root: Path) -> list[Path]:
    """What ``collect_exec_cache`` may delete: unpacked trees, downloaded archives and venvs."""
    if not root.is_dir():
        return []
    special = ("archives", "venvs")
    entries = [
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in special
    ]
    entries += list((root / "archives").glob("*.tar.gz"))
    entries += [p for p in (root / "venvs").glob("*") if p.is_dir() and not p.name.startswith(".")]
    return entries


def collect_exec_cache(
    cap_bytes: Optional[int] = None,
    *,
    now: float,
    keep: Sequence[Path] = (),
    root: Optional[Path] = None,
) -> list[Path]:
    """Delete the least recently used exec cache entries until the rest fit in ``cap_bytes``.

    ``cap_bytes`` defaults to ``settings.EXEC_CACHE_MB`` (4096 MB). Entries in ``keep`` or used
    within the last hour stay whatever the size. An entry is renamed away before it is
    deleted, so another ``exec`` never sees half of a tree. Returns what was deleted.
    """
    cap = int(settings.EXEC_CACHE_MB.get() * MB) if cap_bytes is None else cap_bytes
    root = root or cache_dir() / "exec"
    sized = []
    for entry in exec_cache_entries(root):
        try:
            sized.append((entry.lstat().st_mtime, entry, _tree_bytes(entry)))
        except OSError:
            continue  # removed meanwhile
    total = sum(size for _, _, size in sized)
    kept = {p.resolve() for p in keep}
    removed = []
    for used, entry, size in sorted(sized, key=lambda item: item[0]):
        if total <= cap:
            break
        if entry.resolve() in kept or now - used < RECENT_S:
            continue
        trash = entry.with_name(f".trash-{entry.name}-{os.getpid()}")
        try:
            os.rename(entry, trash)
        except OSError:
            continue
        if trash.is_dir():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink(missing_ok=True)
        total -= size
        removed.append(entry)
    return removed


def import_root(tree: Path) -> Path:
    """The directory to put on ``sys.path``: ``packages/`` in envctl archives."""
    packages = tree / PACKAGES_DIR
    return packages if packages.is_dir() else tree


def find_interpreter(python: str) -> Optional[Path]:
    """An installed CPython of the target's ``major.minor`` (the builder's discovery)."""
    from envctl.build.verify import find_interpreter as discover

    return discover(".".join(python.split(".")[:2]))


def excluded_packages(project: Project, environment: str) -> list[str]:
    """The distributions the committed lock excludes (the cluster image provides them)."""
    from envctl.lock.lockfile import read_lock

    lock_file = project.lock_path(environment)
    if not lock_file.is_file():
        return []
    return [name for name, _ in read_lock(lock_file).excluded]


def command_and_env(
    command: Sequence[str],
    tree: Path,
    interpreter: Path | None,
    base: Mapping[str, str],
    *,
    excluded: Sequence[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """The command to run and its environment, isolated in a sandbox of ``interpreter``.

    ``python``/``python3``/``python3.X`` as the command become the sandbox's interpreter, whose
    ``bin`` also leads ``PATH`` so scripts that call ``python`` again get the same one; the
    caller's ``PYTHONPATH`` is dropped. Without an interpreter (none of the target version is
    installed) the archive is only put on ``PYTHONPATH``, and the caller warns.
    """
    root = import_root(tree)
    if interpreter is None:
        env = dict(base)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), base.get("PYTHONPATH", "")) if p)
        return list(command), env
    box = sandbox.cached(interpreter, [root], cache_dir() / "exec" / "venvs", excluded=excluded)
    _touch(box.root)
    return sandbox.replace_python(command, box), box.env(base)
