"""Garbage collection: the policy (``select``, pure) and the procedure (``collect``).

Rules: never the current version of any environment; per environment keep the ``keep``
newest versions; delete older ones only once they are older than ``grace`` seconds (a job
submitted a moment ago may still reference them). Archives no version refers to (orphans
from interrupted applies or removed history) go after the same grace period, and so does
the debris of killed uploads (``Target.leftovers``: younger debris may be a running upload).
Build records (written by ``envctl build --upload``) go after the same grace period unless a
kept version was built from their lock.

The version git declares (its lock hash is in ``keep_locks``) is never collected either: the
next apply would re-point to it, and after a rollback it is the one to roll forward to.

The runtime's resources (``envctl_*``: ad-hoc temporaries, pinned rebuilds) expire by rules
the caller passes in (``TempRule``: given their listing and "now", the names that expired).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional, Sequence

from envctl.deploy.state import (
    PREFIX,
    RUNTIME_PREFIX,
    State,
    VersionInfo,
    is_sbom_name,
    parse_archive_name,
    parse_build_record_name,
)
from envctl.targets.base import ObjectInfo, Target

if TYPE_CHECKING:
    from envctl.deploy.lease import HeldLease

TempRule = Callable[[Iterable[ObjectInfo], float], list[str]]


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
    keep_locks: frozenset[str] = frozenset(),
) -> GcPlan:
    """Versions beyond ``keep`` and older than ``grace``, plus orphaned archives past ``grace``.

    ``protected`` holds resources a SQL function references and ``keep_locks`` the lock
    hashes git declares: versions with either stay.
    """
    cutoff = now - grace
    doomed: dict[str, tuple[VersionInfo, ...]] = {}
    for name, env in sorted(state.environments.items()):
        newest_first = sorted(env.versions, key=lambda v: v.version, reverse=True)
        old = [
            v
            for v in newest_first[keep:]
            if v.version != env.current
            and v.created <= cutoff
            and v.resource not in protected
            and v.lock_hash not in keep_locks
        ]
        if old:
            doomed[name] = tuple(old)
    doomed_ids = {(v.environment, v.version) for versions in doomed.values() for v in versions}
    doomed_names = {v.resource for versions in doomed.values() for v in versions if not v.adopted}
    still_used = {  # an archive shared with a kept version (same bytes) stays
        v.resource
        for env in state.environments.values()
        for v in env.versions
        if (v.environment, v.version) not in doomed_ids
    }
    doomed_names |= {v.sbom for versions in doomed.values() for v in versions if v.sbom}
    still_used |= {  # the SBOM beside a kept version stays
        v.sbom
        for env in state.environments.values()
        for v in env.versions
        if v.sbom and (v.environment, v.version) not in doomed_ids
    }
    deletable = sorted(doomed_names - still_used)
    orphans = sorted(
        info.name
        for info in objects.values()
        if (parse_archive_name(info.name) or is_sbom_name(info.name))
        and info.name not in still_used
        and info.name not in doomed_names
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


def expired_temporaries(
    listing: Iterable[ObjectInfo], now: float, rules: Sequence[TempRule]
) -> list[str]:
    """Names any of ``rules`` says have expired."""
    items = list(listing)
    names: set[str] = set()
    for rule in rules:
        names.update(rule(items, now))
    return sorted(names)


def stale_leftovers(listing: Iterable[ObjectInfo], *, now: float, grace: float) -> list[str]:
    """Names of upload debris last written more than ``grace`` seconds before ``now``."""
    return sorted(info.name for info in listing if info.modified <= now - grace)


@dataclass(frozen=True)
class GcResult:
    """What ``collect`` deleted (or, in a dry run, would delete), by kind."""

    dry_run: bool
    versions: Mapping[str, tuple[VersionInfo, ...]] = field(default_factory=dict)
    """Forgotten versions by environment; their archives are in ``archives``."""
    archives: tuple[str, ...] = ()
    """Archives (and SBOMs) of forgotten versions, unless a kept version shares them."""
    orphans: tuple[str, ...] = ()
    """Archives (and SBOMs) no version refers to."""
    records: tuple[str, ...] = ()
    """Build records (``envctl build --upload``) of locks no kept version uses."""
    temporaries: tuple[str, ...] = ()
    """Runtime resources the rules say expired (ad-hoc temporaries, superseded pins)."""
    renewals: tuple[str, ...] = ()
    """Renewal records of broken leases."""
    leftovers: tuple[str, ...] = ()
    """Debris of killed uploads (``Target.leftovers``)."""

    @property
    def objects(self) -> tuple[str, ...]:
        """Every object name deleted, in deletion order."""
        return (*self.archives, *self.orphans, *self.records, *self.temporaries, *self.renewals)

    @property
    def empty(self) -> bool:
        return not (self.versions or self.objects or self.leftovers)


def collect(
    target: Target,
    lease: Optional[HeldLease],
    *,
    keep: int,
    grace: float,
    now: float,
    dry_run: bool,
    keep_locks: frozenset[str] = frozenset(),
    temp_rules: Sequence[TempRule] = (),
) -> GcResult:
    """Find what may go and, unless ``dry_run``, delete it under ``lease``.

    Order is what makes an interrupted gc safe: versions are forgotten in the index first,
    then their archives, orphans, expired temporaries, dead renewals and upload debris are
    deleted; a crash in between leaves only orphans, which the next gc collects. A dry run
    needs no lease (``None``) and writes nothing. What a SQL function references stays.
    """
    from envctl.deploy.functions import referenced
    from envctl.deploy.lease import current_lease, dead_renewals
    from envctl.deploy.observe import observe, write_state

    if lease is None and not dry_run:
        raise ValueError("collect needs the lease unless dry_run")
    observed = observe(target)
    chosen = select(
        observed.state, observed.objects, now=now, keep=keep, grace=grace,
        protected=frozenset(referenced(target)), keep_locks=keep_locks,
    )  # fmt: skip
    doomed_archives = {  # the archive and the SBOM of each forgotten version
        name
        for versions in chosen.versions.values()
        for v in versions
        for name in (v.resource, v.sbom)
        if name
    }
    holder = (
        lease.id if lease is not None else getattr(current_lease(target, renewals=False), "id", "")
    )
    result = GcResult(
        dry_run=dry_run,
        versions=chosen.versions,
        archives=tuple(name for name in chosen.objects if name in doomed_archives),
        orphans=tuple(
            name
            for name in chosen.objects
            if name not in doomed_archives and not parse_build_record_name(name)
        ),
        records=tuple(name for name in chosen.objects if parse_build_record_name(name)),
        temporaries=tuple(
            expired_temporaries(target.list(RUNTIME_PREFIX), now, temp_rules) if temp_rules else ()
        ),
        renewals=tuple(dead_renewals(target, holder)),
        leftovers=tuple(
            stale_leftovers(target.leftovers((PREFIX, RUNTIME_PREFIX)), now=now, grace=grace)
        ),
    )
    if dry_run or result.empty:
        return result
    assert lease is not None
    lease.check("deleting anything; nothing was deleted")
    if result.versions:
        trimmed = observed.state
        for env, versions in result.versions.items():
            trimmed = trimmed.without_versions(env, {v.version for v in versions})
        write_state(target, trimmed)  # forget versions first, then delete their archives
    for name in result.objects:
        target.delete(name)
    for leftover in result.leftovers:
        target.delete_leftover(leftover)
    return result
