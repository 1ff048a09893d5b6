"""Ad-hoc archives: build requirements the decorator names and publish them as resources.

A temporary archive is published under a name derived from its :class:`AdhocRequest` key, as
a ``temp`` resource; it counts as live for ``ttl`` seconds after its upload time (the target's
``modified``), so no extra metadata is needed and ``envctl gc`` can expire it from a listing.
A build for one key runs under a file lock, so processes starting together build once and
the others reuse the result; the target is re-checked after the lock is taken.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from filelock import FileLock

from envctl import settings
from envctl.build.cache import Cache
from envctl.targets.base import ObjectExists, ObjectInfo, Target
from envctl.udf.keys import AdhocRequest, is_temporary_resource, pinned_key

if TYPE_CHECKING:  # imported when building: decorating must stay cheap
    from envctl.build.builder import BuiltArchive

LOCK_TIMEOUT = 3600.0
"""A build of a large environment can take many minutes; waiters give up only after this."""

stats: Counter[str] = Counter()
"""Process-wide counters (``builds``, ``uploads``, ``reused``) that tests and benchmarks read."""


@dataclass(frozen=True)
class AdhocArchive:
    """A published ad-hoc archive: its resource name and when it stops being live (None: never)."""

    name: str
    expires_at: Optional[float]
    built: bool


def expiry_margin(ttl: float) -> float:
    """Archives this close to expiry are rebuilt, so a job submitted now does not lose its files."""
    return min(ttl * 0.1, 3600.0)


def live_until(info: Optional[ObjectInfo], ttl: float, now: float) -> Optional[float]:
    """The expiry of a stored temporary archive, or None when it is absent or (nearly) expired."""
    if info is None:
        return None
    expires_at = info.modified + ttl
    return expires_at if expires_at - expiry_margin(ttl) > now else None


def _filelock(key: str) -> FileLock:
    """The per-key lock that makes concurrent first uses build once (in the build cache)."""
    lock = Cache.default().filelock(f"adhoc-{key[:40]}")
    lock.timeout = LOCK_TIMEOUT
    return lock


def ensure_temporary(
    target: Target, request: AdhocRequest, *, ttl: float, clock: Callable[[], float] = time.time
) -> AdhocArchive:
    """The live temporary archive for ``request``, building and uploading it if needed."""
    name = request.temporary_name
    expires_at = live_until(target.stat(name), ttl, clock())
    if expires_at is not None:
        stats["reused"] += 1
        return AdhocArchive(name, expires_at, built=False)
    with _filelock(request.key):
        info = target.stat(name)
        expires_at = live_until(info, ttl, clock())
        if expires_at is not None:  # another process built it while we waited
            stats["reused"] += 1
            return AdhocArchive(name, expires_at, built=False)
        archive = _build(request, refresh=False)
        if info is not None:
            target.delete(name)  # expired: replace, never reuse
        uploaded: Optional[ObjectInfo]
        try:
            uploaded = target.put_file(
                name, archive.path, md5=archive.md5, kind="archive", temp=True
            )
        except ObjectExists:  # another machine published it between our stat and upload
            uploaded = target.stat(name)
        stats["uploads"] += 1
        modified = uploaded.modified if uploaded is not None and uploaded.modified else clock()
        return AdhocArchive(name, modified + ttl, built=True)


def ensure_pinned(target: Target, request: AdhocRequest, name: str) -> AdhocArchive:
    """``force_rebuild``: re-resolve to the latest versions and publish a long-term ``name``.

    ``name`` (:meth:`AdhocRequest.pinned_name`) is per process, so a process re-resolves once.
    """
    with _filelock(request.key):
        if target.stat(name) is not None:
            stats["reused"] += 1
            return AdhocArchive(name, None, built=False)
        archive = _build(request, refresh=True)
        if target.stat(name) is None:
            try:
                target.put_file(name, archive.path, md5=archive.md5, kind="archive", temp=False)
                stats["uploads"] += 1
            except ObjectExists:
                pass
        return AdhocArchive(name, None, built=True)


def expired_temporaries(listing: Iterable[ObjectInfo], now: float) -> list[str]:
    """gc's rule: ad-hoc temporaries whose upload is older than the configured TTL."""
    ttl = settings.ADHOC_TTL.get()
    return [
        info.name
        for info in listing
        if is_temporary_resource(info.name) and info.modified + ttl <= now
    ]


def superseded_pins(listing: Iterable[ObjectInfo], now: float) -> list[str]:
    """gc's rule for ``force_rebuild`` archives: per request key the newest stays; the others
    go once they are older than ``ENVCTL_PIN_GRACE`` (default 7 days), since a job submitted
    before the newer one was published may still reference them."""
    grace = settings.PIN_GRACE.get()
    newest: dict[str, ObjectInfo] = {}
    pins = [(key, info) for info in listing if (key := pinned_key(info.name)) is not None]
    for key, info in pins:
        current = newest.get(key)
        if current is None or (info.modified, info.name) > (current.modified, current.name):
            newest[key] = info
    return sorted(
        info.name for key, info in pins if info is not newest[key] and info.modified + grace <= now
    )


def _build(request: AdhocRequest, *, refresh: bool) -> BuiltArchive:
    from envctl.build.builder import build_requirements

    stats["builds"] += 1
    _, archive = build_requirements(
        list(request.requirements),
        python=request.python,
        platform=request.platform,
        prefer_binary=request.prefer_binary,
        pre_release=request.pre_release,
        no_audit_wheel=request.no_audit_wheel,
        index_url=request.index_url,
        extra_index_urls=request.extra_index_urls,
        refresh=refresh,
    )
    return archive
