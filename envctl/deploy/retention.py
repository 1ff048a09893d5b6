"""Garbage-collection policy: which versions and objects may go. Pure: no I/O.

Rules: never the current version of any environment; per environment keep the ``keep``
newest versions; delete older ones only once they are older than ``grace`` seconds (a job
submitted a moment ago may still reference them). Archives no version refers to (orphans
from interrupted applies or removed history) go after the same grace period, and so does
the debris of killed uploads (``Target.leftovers``: younger debris may be a running upload).
Build records (written by ``envctl build --upload``) go after the same grace period unless a
kept version was built from their lock.

Hook for temporary resources: ``TEMP_SOURCES`` holds functions that, given the listing of
``envctl_tmp-`` objects and "now", return the names that have expired. The runtime module
registers its rule there; gc lists that prefix and deletes what the sources return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from envctl.deploy.state import State, VersionInfo, is_sbom_name, parse_archive_name, parse_build_record_name
from envctl.targets.base import ObjectInfo

TempSource = Callable[[Iterable[ObjectInfo], float], list[str]]
TEMP_SOURCES: list[TempSource] = []
"""Expiry rules for temporary resources (``envctl_tmp-*``); empty until the runtime registers one."""


@dataclass(frozen=True)
class GcPlan:
    """What gc would remove: versions (by environment) and objects (by name)."""

    versions: Mapping[str, tuple[VersionInfo, ...]] = field(default_factory=dict)
    objects: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.objects and not any(self.versions.values())


def select(
    state: State,
    objects: Mapping[str, ObjectInfo],
    *,
    now: float,
    keep: int,
    grace: float,
    protected: frozenset[str] = frozenset(),
) -> GcPlan:
    """Versions beyond ``keep`` and older than ``grace``, plus orphaned archives past ``grace``."""
    cutoff = now - grace
    doomed: dict[str, tuple[VersionInfo, ...]] = {}
    for name, env in sorted(state.environments.items()):
        newest_first = sorted(env.versions, key=lambda v: v.version, reverse=True)
        old = [
            v for v in newest_first[keep:]
            if v.version != env.current and v.created <= cutoff and v.resource not in protected
        ]  # protected: resources a SQL function references
        if old:
            doomed[name] = tuple(old)
    doomed_ids = {(v.environment, v.version) for versions in doomed.values() for v in versions}
    doomed_names = {v.resource for versions in doomed.values() for v in versions if not v.adopted}
    still_used = {  # an archive shared with a kept version (same bytes) stays
        v.resource for env in state.environments.values() for v in env.versions
        if (v.environment, v.version) not in doomed_ids
    }
    doomed_names |= {v.sbom for versions in doomed.values() for v in versions if v.sbom}
    still_used |= {  # the SBOM beside a kept version stays
        v.sbom for env in state.environments.values() for v in env.versions
        if v.sbom and (v.environment, v.version) not in doomed_ids
    }
    deletable = sorted(doomed_names - still_used)
    orphans = sorted(
        info.name
        for info in objects.values()
        if (parse_archive_name(info.name) or is_sbom_name(info.name))
        and info.name not in still_used and info.name not in doomed_names
        and info.name not in protected
        and info.modified <= cutoff
    )
    kept_locks = {
        (v.environment, v.lock_hash[:12])
        for env in state.environments.values()
        for v in env.versions
        if (v.environment, v.version) not in doomed_ids
    }
    records = sorted(
        info.name
        for info in objects.values()
        if (key := parse_build_record_name(info.name))
        and key not in kept_locks
        and info.modified <= cutoff
    )
    return GcPlan(versions=doomed, objects=tuple(deletable + orphans + records))


def expired_temporaries(listing: Iterable[ObjectInfo], now: float) -> list[str]:
    """Names every registered temp-resource rule says have expired."""
    items = list(listing)
    names: set[str] = set()
    for source in TEMP_SOURCES:
        names.update(source(items, now))
    return sorted(names)


def stale_leftovers(listing: Iterable[ObjectInfo], *, now: float, grace: float) -> list[str]:
    """Names of upload debris last written more than ``grace`` seconds before ``now``."""
    return sorted(info.name for info in listing if info.modified <= now - grace)
