"""The edges around :func:`envctl.udf.decide.decide`: read its inputs, remember its answer.

Inputs are read only when they can change the decision: requirements alone in service mode
need nothing (MaxFrame packs them), a named environment needs one state read of the target
(cached in process and on disk for ``ENVCTL_RESOLVE_TTL`` seconds, so decorating thousands
of functions costs one lookup), its spec and its committed lock. Warm decorations hit an
in-process memo keyed by the query, the session and the settings.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from envctl import settings
from envctl.deploy.state import VersionInfo
from envctl.errors import EnvctlError
from envctl.spec.loader import DEFAULT_PLATFORM
from envctl.spec.project import Project, cache_dir, find_project
from envctl.targets.base import Target
from envctl.udf.cache import ResolutionCache, resolve_ttl
from envctl.udf.decide import (
    SERVICE,
    Decision,
    Defaults,
    EnvFacts,
    LockBuild,
    Passthrough,
    Query,
    Refusal,
    ServicePack,
    TargetFacts,
    UseDeployed,
    decide,
)
from envctl.udf.session import Session, current_session, maxframe_session

__all__ = ["Query", "clear_memo", "deployed_version", "open_target", "resolve", "resource_ref"]

_memo: dict[tuple[Any, ...], tuple[float, Decision, Session | None]] = {}
"""query, cwd, settings -> (expiry, decision, the session it depends on or None)."""
_pin_stamp: list[str] = []


@lru_cache(maxsize=8)
def _cache_at(directory: Path) -> ResolutionCache:
    return ResolutionCache(directory)


def disk_cache() -> ResolutionCache:
    """The on-disk resolution cache under ``<cache dir>/resolve`` (one per cache dir)."""
    return _cache_at(cache_dir() / "resolve")


def clear_memo() -> None:
    """Forget in-process answers (the disk cache stays)."""
    _memo.clear()
    disk_cache().clear_memory()


def resolve(query: Query, session: Session | None = None) -> Decision:
    """The decision for ``query``; a dict lookup when the same query was answered recently.

    Requirements MaxFrame packs do not depend on the session, so their warm path does not
    even read it; every other answer is reused only for the session it was made for. A memo
    entry's ``ENVCTL_EXEC`` is that of the key's settings (and a pass-through, the only answer
    under ``envctl exec``, depends on no session), so a hit only re-reads MaxFrame's options.
    """
    memo_key = (query, os.getcwd(), settings.runtime_snapshot())
    now = time.monotonic()
    hit = _memo.get(memo_key)
    if hit is not None and hit[0] > now:
        made_for = hit[2]
        if made_for is None:
            return hit[1]
        now_in = session or maxframe_session()
        if now_in is made_for or now_in == made_for:
            return hit[1]
    session = session or current_session()
    decision = decide_now(query, session)
    independent = isinstance(decision, Passthrough) or (
        isinstance(decision, ServicePack) and not decision.environment
    )
    if isinstance(decision, (UseDeployed, LockBuild)) or (
        isinstance(decision, ServicePack) and decision.environment
    ):
        ttl = resolve_ttl()  # a new deployment must be seen
    elif isinstance(decision, Refusal):
        ttl = 0.0
    else:
        ttl = float("inf")  # fixed by the query and settings alone
    if ttl > 0:
        _memo[memo_key] = (now + ttl, decision, None if independent else session)
    return decision


def decide_now(query: Query, session: Session) -> Decision:
    """Gather the inputs (no caches but the deployed-version one) and decide."""
    mode = settings.ADHOC_MODE.get()
    defaults = Defaults(
        python=settings.PYTHON.get(),
        platform=settings.PLATFORM.get() or DEFAULT_PLATFORM,
        index_url=settings.INDEX_URL.get(),
        extra_index_urls=settings.EXTRA_INDEX_URLS.get(),
        pin_stamp=pin_stamp() if query.force_rebuild else "",
    )
    if session.under_exec or (not query.environment and session.maxframe and mode == SERVICE):
        # nothing to read: pass through, or MaxFrame packs the requirements
        return decide(query, session, TargetFacts("", False), EnvFacts(), defaults, mode)
    project = find_project()
    env = _env_facts(project, query.environment)
    target = open_target(query.target or settings.TARGET.get(), project)
    maxcompute = target.url.startswith("odps://")
    deployed = None
    if query.environment and not query.force_rebuild and (maxcompute or not session.maxframe):
        deployed = _cached_deployed(target, query.environment)
    facts = TargetFacts(
        target.url, maxcompute, _project_of(target), deployed, schema=_schema_of(target)
    )
    return decide(query, session, facts, env, defaults, mode)


def pin_stamp() -> str:
    """This process's ``force_rebuild`` stamp (UTC time of its first use)."""
    if not _pin_stamp:
        _pin_stamp.append(time.strftime("%Y%m%d%H%M%S", time.gmtime()))
    return _pin_stamp[0]


def _env_facts(project: Project, name: str | None) -> EnvFacts:
    """The named environment's spec and committed lock, when this project defines them."""
    if not name or not project.spec_path(name).is_file():
        return EnvFacts()
    from envctl.lock.lockfile import is_current, read_lock

    spec = project.environments([name])[name]
    lock_file = project.lock_path(name)
    if not lock_file.is_file():
        return EnvFacts(spec)
    lock = read_lock(lock_file)
    return EnvFacts(spec, lock, is_current(spec, lock))


def _project_of(target: Target) -> str | None:
    project = getattr(target, "project", None)
    return project if isinstance(project, str) and project else None


def _schema_of(target: Target) -> str | None:
    schema = getattr(target, "schema", None)
    return schema if isinstance(schema, str) and schema else None


def _cached_deployed(target: Target, environment: str) -> VersionInfo | None:
    key = f"deployed|{target.url}|{environment}"
    cached = disk_cache().get(key)
    if isinstance(cached, dict):
        return VersionInfo.from_json(cached["version"]) if cached.get("version") else None
    version = deployed_version(target, environment)
    if version is not None:  # an undeployed environment is asked again next time
        disk_cache().put(key, {"version": version.to_json()}, resolve_ttl())
    return version


def open_target(url: str | None, project: Project) -> Target:
    from envctl.targets import open_target as _open

    return _open(url, project)


def resource_ref(target: Target, name: str) -> str:
    """How MaxFrame names a resource (``<project>[/schemas/<schema>]/resources/<name>``)."""
    return TargetFacts(target.url, False, _project_of(target), schema=_schema_of(target)).ref(name)


def deployed_version(target: Target, environment: str) -> VersionInfo | None:
    """The controller's current version of ``environment`` in ``target`` (one state read)."""
    from envctl.deploy.observe import current_resource

    return current_resource(target, environment)


def refuse(decision: Refusal) -> EnvctlError:
    """The one-line error for a refusal."""
    return EnvctlError(decision.message)
