"""Build an environment's archive from its lock: fetch, (build sdists), install, pack, cache.

The archive cache is keyed by ``Lock.lock_hash()``: a rebuild of an unchanged lock is a cache
lookup with no network and no packing. A miss downloads exactly the locked files, installs
them into ``packages/`` and packs them reproducibly, so two builds of one lock are
byte-identical and the sha256 is the archive's identity.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from envctl import console, crashpoints, timings
from envctl.build import debris
from envctl.build.archive import (
    ArchiveInfo,
    LazyTree,
    Mispredicted,
    SegmentStore,
    TreeClash,
    write_archive,
    write_archive_lazy,
)
from envctl.build.cache import Cache
from envctl.build.fetch import fetch
from envctl.build.install import PACKAGES_DIR, declared_size, install_wheel, installed_tops
from envctl.build.sdist import NotReproduced, build_wheel, record_native_builds
from envctl.build.size import SizeBudget, UnpackBudget, check_size
from envctl.errors import EnvctlError
from envctl.files import atomic_path, file_hexdigest, write_json_atomic
from envctl.lock.lockfile import Lock, LockedFile, inputs_hash, is_current, read_lock, write_lock
from envctl.lock.resolve import resolve_environment
from envctl.progress import step
from envctl.spec.indexes import index_urls, requirements_and_credentials
from envctl.spec.loader import DEFAULT_PLATFORM, Environment
from envctl.spec.requirements import split_requirements

ADHOC_NAME = "adhoc"


@dataclass(frozen=True)
class BuiltArchive:
    path: Path
    sha256: str
    md5: str
    size: int
    lock_hash: str
    packages: tuple[tuple[str, str], ...]  # (name, version) packed
    largest: tuple[tuple[str, int], ...] = ()  # (name, unpacked bytes), largest first
    cached: bool = False  # True when served from the archive cache without building
    unpacked: int = 0  # bytes the packed tree holds (what every worker unpacks)

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "md5": self.md5,
            "size": self.size,
            "lock_hash": self.lock_hash,
            "packages": [{"name": n, "version": v} for n, v in self.packages],
            "largest": [{"name": n, "unpacked_bytes": s} for n, s in self.largest],
            "cached": self.cached,
            "unpacked_size": self.unpacked,
        }


def cached_archive(cache: Cache, lock_hash: str) -> Optional[BuiltArchive]:
    """The archive already built for ``lock_hash`` (its recorded sha256, no re-hashing), if any."""
    path = cache.archive_path(lock_hash)
    meta = cache.read_json(cache.archive_meta_path(lock_hash))
    if meta is None or not path.is_file() or path.stat().st_size != meta.get("size"):
        return None
    return BuiltArchive(
        path=path,
        sha256=meta["sha256"],
        md5=meta["md5"],
        size=meta["size"],
        lock_hash=lock_hash,
        packages=tuple((p[0], p[1]) for p in meta["packages"]),
        largest=tuple((p[0], p[1]) for p in meta["largest"]),
        cached=True,
        unpacked=int(meta.get("unpacked_size", 0)),
    )


def _checked_unpacked(lock: Lock, paths: dict[str, Path], budget: UnpackBudget) -> int:
    """Declared unpacked bytes of the locked wheels, each and all checked before installing any."""
    total = 0
    for file in (f for f in lock.packages if f.is_wheel):
        wheel = paths[file.sha256]
        size = declared_size(wheel)
        budget.check(wheel.name, size, wheel.stat().st_size)
        total += size
    budget.check(f"the wheels of {lock.environment}", total)
    return total


INSTALLED_META = "envctl-installed.json"
"""Beside ``packages/`` in an installed tree: the wheel's unpacked size and the tree's summary."""


def _summary(tree: Path) -> dict[str, int]:
    """Files and bytes under ``tree/packages`` (what a cached tree is checked against)."""
    files = [p for p in (tree / PACKAGES_DIR).rglob("*") if not p.is_dir()]
    return {"files": len(files), "bytes": sum(p.lstat().st_size for p in files)}


def installed_tree(wheel: Path, sha256: str, cache: Cache) -> tuple[str, Path, int]:
    """``(sha256, tree, unpacked bytes)``: ``wheel`` (whose hash is ``sha256``) installed alone.

    Cached by the wheel's hash, so a rebuild after a lock change installs only the wheels
    that changed. An entry appears only by renaming a complete staging tree, under a file lock;
    one whose file count or size no longer matches its summary is installed again, so an
    archive never depends on what was cached before.
    """
    dest = cache.installed_dir(sha256)
    with cache.filelock(f"installed-{sha256}"):
        meta = cache.read_json(dest / INSTALLED_META)
        if (
            meta is not None
            and dest.is_dir()
            and _summary(dest) == {k: meta.get(k) for k in ("files", "bytes")}
        ):
            return sha256, dest, int(meta["unpacked_bytes"])
        staging = Path(tempfile.mkdtemp(prefix=debris.tree_prefix("install"), dir=cache.tmp_dir))
        try:
            unpacked = install_wheel(wheel, staging).unpacked_bytes
            (staging / PACKAGES_DIR).mkdir(exist_ok=True)  # a wheel of only data files
            write_json_atomic(
                staging / INSTALLED_META, {"unpacked_bytes": unpacked, **_summary(staging)}
            )
            if dest.exists():
                shutil.rmtree(dest)  # damaged: its summary does not match
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return sha256, dest, unpacked


Installing = tuple[str, str, "Future[tuple[str, Path, int]]", frozenset[str]]
"""(package, wheel file name, its ``installed_tree`` call, the top-level names it will make)."""


def _start_installs(
    lock: Lock,
    paths: dict[str, Path],
    cache: Cache,
    urls: Sequence[str],
    budget: UnpackBudget,
    pool: ThreadPoolExecutor,
) -> list[Installing]:
    """Start installing every locked file, wheels then built sdists, each by name.

    Wheels install concurrently (zlib and file I/O release the GIL) while sdists build in
    subprocesses; each goes to its own cached tree, so the order cannot change the result.
    The declared sizes of the locked wheels are checked against ``budget`` before any
    installs, and each built wheel's before it installs. Returns once every sdist is built.
    """
    unpacked = _checked_unpacked(lock, paths, budget)
    wheels = sorted((f for f in lock.packages if f.is_wheel), key=lambda f: f.name)
    sdists = sorted((f for f in lock.packages if not f.is_wheel), key=lambda f: f.name)
    builds = [pool.submit(build_wheel, paths[f.sha256], f, cache, urls, lock=lock) for f in sdists]
    started: list[Installing] = []
    for file in wheels:
        wheel = paths[file.sha256]
        future = pool.submit(installed_tree, wheel, file.sha256, cache)
        started.append((file.name, file.filename, future, installed_tops(wheel)))
    for file, build in zip(sdists, builds):
        built = build.result()
        size = declared_size(built)
        budget.check(built.name, size, built.stat().st_size)
        unpacked += size
        budget.check(f"the wheels of {lock.environment}", unpacked)
        future = pool.submit(installed_tree, built, file_hexdigest(built, "sha256"), cache)
        started.append((file.name, built.name, future, installed_tops(built)))
    return started


def _install_and_pack(
    lock: Lock,
    paths: dict[str, Path],
    cache: Cache,
    urls: Sequence[str],
    dest: Path,
    progress: bool,
    label: str = "",
) -> tuple[ArchiveInfo, dict[str, int]]:
    """Install every locked file into its cached tree and pack them into ``dest``, packing each
    stretch of the archive as soon as the trees it needs are installed (so packing overlaps
    installing); ``(archive info, {package: unpacked bytes})``.

    Which tree holds which top-level names is predicted from the wheels; if a prediction is
    wrong, packing waits for every install and starts over: the bytes are the same either way.
    """
    store = SegmentStore(
        cache.segments_dir, tmp_dir=cache.tmp_dir, tmp_prefix=debris.tree_prefix("build")
    )
    started = time.perf_counter()
    workers = (os.cpu_count() or 1) + sum(1 for f in lock.packages if not f.is_wheel)
    line = f"{label + ': ' if label else ''}installing {len(lock.packages)} packages"
    with (
        warnings.catch_warnings(),
        step(line, len(lock.packages), enabled=progress, unit="items") as advance,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):  # the pool waits, then the step ends
        warnings.simplefilter("ignore", RuntimeWarning)  # contain install_wheel's per-call filter
        installing = _start_installs(lock, paths, cache, urls, UnpackBudget.from_settings(), pool)
        finished: list[float] = []
        for _, _, future, _ in installing:
            future.add_done_callback(lambda _: finished.append(time.perf_counter()))
            future.add_done_callback(lambda _: advance(1))
        trees = [LazyTree(tops, _ready(future)) for _, _, future, tops in installing]
        try:
            with timings.phase("pack"):
                try:
                    info = write_archive_lazy(
                        trees, dest, progress=progress, segments=store, label=label
                    )
                except Mispredicted as exc:
                    console.debug(f"{exc}: packing once every wheel is installed")
                    done = [future.result() for _, _, future, _ in installing]
                    info = write_archive(
                        [tree for _, tree, _ in done],
                        dest,
                        progress=progress,
                        owners=[sha for sha, _, _ in done],
                        segments=store,
                        label=label,
                    )
        except TreeClash as clash:
            wheel, other = installing[clash.index][1], installing[clash.other][1]
            raise EnvctlError(
                f"cannot install {wheel}: it overwrites a file of another package "
                f"({clash.arcname} is also in {other})"
            ) from None
        sizes = {name: future.result()[2] for name, _, future, _ in installing}
    timings.add("install", max(finished, default=started) - started)
    return info, sizes


def _ready(future: Future[tuple[str, Path, int]]) -> Callable[[], tuple[str, Path]]:
    return lambda: future.result()[:2]


def _build_fresh(
    lock: Lock,
    cache: Cache,
    urls: Sequence[str],
    progress: bool,
    credentials: Sequence[str] = (),
    label: str = "",
) -> BuiltArchive:
    key = lock.lock_hash()
    with timings.phase("download"):
        paths = fetch(
            lock.packages, cache, index_urls=[*urls, *credentials], progress=progress, label=label
        )
    dest = cache.archive_path(key)
    with atomic_path(dest) as tmp_archive:
        info, sizes = _install_and_pack(lock, paths, cache, urls, tmp_archive, progress, label)
        crashpoints.reach("build")
    built = BuiltArchive(
        path=dest,
        sha256=info.sha256,
        md5=info.md5,
        size=info.size,
        lock_hash=key,
        packages=tuple(sorted((f.name, f.version) for f in lock.packages)),
        largest=tuple(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))),
        unpacked=sum(sizes.values()),
    )
    meta = built.to_json()
    meta["packages"] = [list(p) for p in built.packages]
    meta["largest"] = [list(p) for p in built.largest]
    write_json_atomic(cache.archive_meta_path(key), meta)
    return built


def build_lock(
    lock: Lock,
    *,
    index_urls: Sequence[str],
    progress: bool = True,
    cache: Optional[Cache] = None,
    budget: Optional[SizeBudget] = None,
    output: Optional[Path] = None,
    credentials: Sequence[str] = (),
    label: str = "",
) -> BuiltArchive:
    """Build (or fetch from the archive cache) the archive of ``lock`` and check its size.

    ``credentials``: expanded direct requirement URLs whose userinfo downloads may need.
    With ``progress`` each step is reported, its line starting with ``label``.
    """
    cache = cache or Cache.default()
    budget = budget or SizeBudget.from_settings()
    key = lock.lock_hash()
    built = cached_archive(cache, key)
    if built is None:
        for item in debris.sweep(cache, now=time.time()):  # what killed builds left behind
            console.debug(f"removed build debris {item.path} ({item.reason})")
        with cache.filelock(f"archive-{key}"):
            built = cached_archive(cache, key) or _build_fresh(
                lock, cache, index_urls, progress, credentials, label
            )
    warning = check_size(budget, built.size, built.largest)
    if warning:
        console.warn(warning)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(output) as tmp:
            shutil.copyfile(built.path, tmp)
        built = BuiltArchive(**{**built.__dict__, "path": output})
    return built


def build(
    env: Environment,
    lock: Lock,
    *,
    progress: bool = True,
    cache: Optional[Cache] = None,
    budget: Optional[SizeBudget] = None,
    output: Optional[Path] = None,
) -> BuiltArchive:
    """The archive of ``env`` from its current ``lock``; a stale lock is refused."""
    if not is_current(env, lock):
        raise EnvctlError(
            f"the lock of {env.name!r} is stale (the spec changed); run 'envctl lock {env.name}'"
        )
    if env.requirements and not lock.packages and not lock.excluded:
        raise EnvctlError(
            f"{env.name!r} has requirements but its lock has no package (every environment marker "
            f"is false for CPython {lock.python}); refusing to build an empty archive. Fix the "
            "markers, or remove the requirements to declare the environment empty"
        )
    credentials = requirements_and_credentials(env)[1]
    return build_lock(
        lock, index_urls=index_urls(env), progress=progress, cache=cache, budget=budget,
        output=output, credentials=credentials, label=env.name,
    )  # fmt: skip


def _build_early(env: Environment, file: LockedFile, cache: Cache) -> None:
    """Fetch and build a pure sdist the lock will likely hold; any failure is left to build()."""
    urls = index_urls(env)
    try:
        paths = fetch([file], cache, index_urls=urls, progress=False)
        build_wheel(paths[file.sha256], file, cache, urls)  # refuses compiled code
    except EnvctlError as exc:
        console.debug(f"building {file.filename} ahead of the lock failed: {exc}")


def build_requirements(
    requirements: Sequence[str],
    *,
    python: str,
    platform: str = DEFAULT_PLATFORM,
    prefer_binary: bool = False,
    pre_release: bool = False,
    no_audit_wheel: bool = False,
    index_url: Optional[str] = None,
    extra_index_urls: Sequence[str] = (),
    refresh: bool = False,
    progress: bool = False,
    cache: Optional[Cache] = None,
) -> tuple[Lock, BuiltArchive]:
    """Ad-hoc path for the UDF runtime: resolve in memory (lock cached by inputs) and build.

    Without ``refresh`` an earlier resolution of the same inputs is reused from the cache, so
    a repeated call does no network work at all. ``no_audit_wheel`` (MaxFrame's flag) skips
    ``auditwheel repair`` for sdists compiled here; their wheels are still checked.
    """
    env = Environment(
        name=ADHOC_NAME,
        python=python,
        platform=platform,
        requirements=tuple(r for text in requirements for r in split_requirements(text)),
        prefer_binary=prefer_binary,
        pre_release=pre_release,
        audit_wheel=not no_audit_wheel,
        index_url=index_url,
        extra_index_urls=tuple(extra_index_urls),
    )
    cache = cache or Cache.default()

    lock_path = cache.lock_path(inputs_hash(env))
    lock: Optional[Lock] = None
    if not refresh and lock_path.is_file():
        try:
            lock = read_lock(lock_path)
        except EnvctlError:
            lock = None  # a damaged cache entry is re-resolved, not an error
    cached = lock is not None and is_current(env, lock)
    if lock is None or not cached:
        with ThreadPoolExecutor(1, thread_name_prefix="envctl-early") as early:
            # A required sdist-only package (jieba) is fetched and built into the cache while
            # the rest resolves; build() then finds its wheel instead of waiting for it.
            def build_early(file: LockedFile) -> None:
                early.submit(_build_early, env, file, cache)

            with timings.phase("resolve"):
                resolved = resolve_environment(env, early_sdists=build_early)
                lock = record_native_builds(env, resolved, cache=cache)
            write_lock(lock_path, lock)
            return lock, build(env, lock, progress=progress, cache=cache)
    try:
        return lock, build(env, lock, progress=progress, cache=cache)
    except NotReproduced:
        if not cached:
            raise
    # The cached lock recorded a compiled wheel another toolchain made (zig upgraded since):
    # an ad-hoc lock is a cache entry, not a reviewed file, so record this toolchain's build.
    with timings.phase("resolve"):
        lock = record_native_builds(env, resolve_environment(env), cache=cache)
    write_lock(lock_path, lock)
    return lock, build(env, lock, progress=progress, cache=cache)
