"""Uploading archives ahead of apply, from many CI runners at once, and adopting them later.

A change to a shared base can change hundreds of environments; building them all in the one
apply job that holds the lease is slow. Instead, a matrix of jobs each runs ``envctl build
NAME --upload``: it uploads the environment's immutable, content-addressed archive plus a
small build record (``envctl-<env>-<lock12>.build.json``: which archive that lock built
into), and touches neither the index nor the lease. That is safe to run in parallel and to
repeat: names are derived from the bytes, an intact object is never uploaded twice, and every
runner writes the same record. The final ``apply`` finds the record for the lock it
deploys, checks the archive's size and md5 in the target, and only switches the pointer.

What is not done here: an object of the archive's name with different bytes (corrupted out
of band) is reported, not replaced; replacing needs the lease, so apply does it.
"""

from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Protocol, TypeVar

from envctl import console, crashpoints
from envctl.deploy.state import BuildRecord, archive_name, build_record_name
from envctl.errors import EnvctlError
from envctl.targets.base import (
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    Progress,
    Target,
    verify_uploaded,
)

T = TypeVar("T")
R = TypeVar("R")

ADOPT_WORKERS = 8
"""Threads (each with its own target handle) for the per-environment requests of adoption."""


class Clones:
    """Target handles lent to worker threads, one thread at a time, kept across passes.

    Why: with a remote target, per-environment lookups and small writes are all latency, so
    they overlap; each thread needs its own handle (``Target.clone``) because a client library
    may keep per-object state that threads must not share, and a new handle may cost a
    request, so a second pass (apply: check the staged archives, then write their SBOMs)
    reuses the first one's. At most ``workers`` handles exist.
    """

    def __init__(self, target: Target, workers: int = ADOPT_WORKERS) -> None:
        self.target = target
        self.workers = max(1, workers)
        self._spare: queue.SimpleQueue[Target] = queue.SimpleQueue()

    def map(self, work: Callable[[Target, T], R], items: Iterable[T]) -> list[R]:
        """``work(handle, item)`` for every item, concurrently, results in order; every item
        runs, then the first exception in item order propagates."""
        todo = list(items)
        if not todo:
            return []

        def one(item: T) -> R:
            try:
                handle = self._spare.get_nowait()
            except queue.Empty:
                handle = self.target.clone()
            try:
                return work(handle, item)
            finally:
                self._spare.put(handle)

        with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            return list(pool.map(one, todo))


class Built(Protocol):
    """What uploading needs from a build (``envctl.build.builder.BuiltArchive`` satisfies it).

    Read-only members, so a frozen dataclass satisfies it.
    """

    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def md5(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def lock_hash(self) -> str: ...
    @property
    def packages(self) -> tuple[tuple[str, str], ...]: ...


def upload_archive(
    target: Target,
    name: str,
    built: Built,
    *,
    objects: Optional[Mapping[str, ObjectInfo]] = None,
    progress: Optional[Progress] = None,
    replace_corrupt: bool = False,
) -> tuple[ObjectInfo, int]:
    """``built`` in ``target`` as ``name``, verified; ``(info, bytes sent)`` (0 when already there).

    ``objects`` is a listing of the target when the caller has one: a name it lacks is
    uploaded without asking the target first. An object of that name whose size or md5
    differ is corrupt: it is deleted and uploaded again only with ``replace_corrupt`` (apply,
    under the lease); otherwise that is an error.
    """
    listed = objects.get(name) if objects is not None else None
    known_absent = objects is not None and listed is None
    existing = (
        None
        if known_absent
        else listed
        if listed is not None and listed.size != built.size
        else target.stat(name)
    )
    if existing is not None:
        if existing.size == built.size and existing.md5 in (None, built.md5):
            return existing, 0
        if not replace_corrupt:
            raise EnvctlError(
                f"{name} exists in {target.url} with different bytes (size {existing.size}, md5 "
                f"{existing.md5}); run 'envctl apply', which replaces it under the lease"
            )
        target.delete(name)  # same name, different bytes: corrupted out of band
    on_bytes = crashpoints.watch_progress("upload", progress)
    try:
        info = target.put_file(name, built.path, md5=built.md5, kind="archive", progress=on_bytes)
    except ObjectExists:  # a parallel runner, or a retried upload whose first attempt landed
        info = verify_uploaded(name, target.stat(name), built.size, built.md5)
    return info, built.size


@dataclass(frozen=True)
class Staged:
    """The outcome of :func:`stage`: the archive's name and whether bytes were sent."""

    resource: str
    record: str
    uploaded_bytes: int


def stage(
    target: Target, environment: str, built: Built, *, progress: Optional[Progress] = None
) -> Staged:
    """Upload ``built`` (the archive of ``environment``) and its build record; no index, no lease.

    Idempotent and safe in parallel: a second run for the same lock sends nothing.
    """
    resource = archive_name(environment, built.sha256)
    info, sent = upload_archive(target, resource, built, progress=progress)
    record = BuildRecord(
        environment=environment,
        lock_hash=built.lock_hash,
        resource=resource,
        sha256=built.sha256,
        md5=built.md5,
        size=info.size,
        packages=tuple(built.packages),
    )
    name = build_record_name(environment, built.lock_hash)
    target.put_bytes(name, record.to_bytes())  # after the archive: a record never points at nothing
    return Staged(resource, name, sent)


def find_staged(
    target: Target, objects: Mapping[str, ObjectInfo], environment: str, lock_hash: str
) -> Optional[tuple[BuildRecord, ObjectInfo]]:
    """The uploaded archive of ``environment`` for ``lock_hash``, checked, or None.

    Checked means: the record parses and names this environment and lock, and the archive is
    in the target with the record's size and md5 (a target that cannot tell an md5 adopts
    nothing). ``objects`` is the apply's listing; only a listed record is read.
    """
    name = build_record_name(environment, lock_hash)
    if name not in objects:
        return None
    try:
        record = BuildRecord.from_bytes(target.read(name))
    except ObjectMissing:
        return None
    except ValueError as exc:
        console.warn(f"ignoring the build record {name}: {exc}")
        return None
    if record.environment != environment or record.lock_hash != lock_hash:
        return None
    listed = objects.get(record.resource)
    if listed is None or listed.size != record.size:
        return None
    info = target.stat(record.resource)
    if (
        info is None
        or info.size != record.size
        or info.md5 is None
        or info.md5.lower() != record.md5
    ):
        console.debug(f"{record.resource} does not match its build record; building it again")
        return None
    return record, info


def find_all_staged(
    target: Target,
    objects: Mapping[str, ObjectInfo],
    wanted: Mapping[str, str],
    *,
    clones: Optional[Clones] = None,
) -> dict[str, tuple[BuildRecord, ObjectInfo]]:
    """:func:`find_staged` for every ``{environment: lock_hash}`` of ``wanted``, concurrently.

    Only environments whose record is listed cost requests (two each); they run on
    ``clones``' threads (a new :class:`Clones` of ``target`` when not given).
    """
    todo = [
        (env, lock)
        for env, lock in sorted(wanted.items())
        if build_record_name(env, lock) in objects
    ]

    def one(handle: Target, item: tuple[str, str]) -> Optional[tuple[BuildRecord, ObjectInfo]]:
        return find_staged(handle, objects, *item)

    found = (clones or Clones(target)).map(one, todo)
    return {env: hit for (env, _), hit in zip(todo, found) if hit is not None}
