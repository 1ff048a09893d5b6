"""From a decorator's arguments to the one resource name MaxFrame should ship.

Order: a deployed named environment (the controller's current pointer in the target) wins;
otherwise, when requirements were given, an ad-hoc archive is built or reused; otherwise a
clear error names the environment and the target. Results are cached in process and on disk
for ``ENVCTL_RESOLVE_TTL`` seconds (never past an ad-hoc archive's expiry), so decorating
thousands of functions costs one lookup.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence

from envctl import settings
from envctl.errors import EnvctlError
from envctl.spec.project import Project, cache_dir, find_project
from envctl.spec.requirements import RequirementError, normalize_requirements
from envctl.spec.loader import DEFAULT_PLATFORM, Environment
from envctl.deploy.state import VersionInfo
from envctl.targets.base import Target
from envctl.udf import adhoc
from envctl.udf.cache import ResolutionCache, resolve_ttl
from envctl.udf.keys import AdhocRequest

NAMED, ADHOC, PINNED = "named", "adhoc", "pinned"


@dataclass(frozen=True)
class Query:
    """What one decorator asked for (hashable: it keys the in-process memo)."""

    environment: Optional[str] = None
    requirements: tuple[str, ...] = ()
    force_rebuild: bool = False
    prefer_binary: bool = False
    pre_release: bool = False
    target: Optional[str] = None
    python: Optional[str] = None


@dataclass(frozen=True)
class Resolution:
    """The answer: a resource reference for ``with_resources`` and where it came from."""

    resource: str
    kind: str  # named | adhoc | pinned
    target: str
    environment: Optional[str] = None
    expires_at: Optional[float] = None


_memo: dict[tuple[Any, ...], tuple[float, Resolution]] = {}


@lru_cache(maxsize=8)
def _cache_at(directory: Path) -> ResolutionCache:
    return ResolutionCache(directory)


def disk_cache() -> ResolutionCache:
    """The on-disk resolution cache under ``<cache dir>/resolve`` (one per cache dir)."""
    return _cache_at(cache_dir() / "resolve")


def resolve(query: Query) -> Resolution:
    """The resource for ``query``; cheap when the same query was answered recently."""
    memo_key = (query, os.getcwd(), settings.runtime_snapshot())
    now = time.time()
    hit = _memo.get(memo_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    result = _resolve_uncached_memo(query)
    ttl = _ttl_for(result, now, pinned_forever=True)
    _memo[memo_key] = (now + ttl, result)
    return result


def clear_memo() -> None:
    """Forget in-process answers (the disk cache stays)."""
    _memo.clear()
    disk_cache().clear_memory()


def _ttl_for(result: Resolution, now: float, *, pinned_forever: bool = False) -> float:
    if result.kind == PINNED and pinned_forever:
        return float("inf")  # force_rebuild: rebuild once per process, not once per function
    ttl = resolve_ttl()
    if result.expires_at is not None:
        ttl = min(ttl, result.expires_at - now - adhoc.expiry_margin(settings.ADHOC_TTL.get()))
    return max(ttl, 0.0)


def _resolve_uncached_memo(query: Query) -> Resolution:
    project = find_project()
    url = query.target or settings.TARGET.get()
    cache_key = "|".join(
        str(part)
        for part in (url or f"local:{project.root}", query.environment, _normalized(query.requirements),
                     query.prefer_binary, query.pre_release, query.python)
    )
    if not query.force_rebuild:
        cached = disk_cache().get(cache_key)
        if cached is not None:
            return Resolution(**cached)
    result = resolve_uncached(query, project)
    if result.kind != PINNED:
        disk_cache().put(cache_key, asdict(result), _ttl_for(result, time.time()))
    return result


def _normalized(requirements: Sequence[str]) -> tuple[str, ...]:
    try:
        return normalize_requirements(requirements)
    except RequirementError as exc:
        raise EnvctlError(f"invalid requirement: {exc}") from None


def open_target(url: Optional[str], project: Project) -> Target:
    from envctl.targets import open_target as _open

    return _open(url, project)


def resource_ref(target: Target, name: str) -> str:
    """How MaxFrame names a resource: ``<project>/resources/<name>`` on MaxCompute."""
    project = getattr(target, "project", None)
    return f"{project}/resources/{name}" if isinstance(project, str) and project else name


def resolve_uncached(query: Query, project: Project) -> Resolution:
    """One real resolution against the target (no caches consulted)."""
    target = open_target(query.target or settings.TARGET.get(), project)
    spec = _spec(project, query.environment)
    if query.environment and not query.force_rebuild:
        current = deployed_version(target, query.environment)
        if current is not None:
            return Resolution(resource_ref(target, current.resource), NAMED, target.url, query.environment)
    if not query.requirements:
        if query.environment is None:
            raise EnvctlError("with_python_requirements needs requirements or env=<environment name>")
        where = "is not defined in this project and " if spec is None else ""
        raise EnvctlError(
            f"environment {query.environment!r} {where}is not deployed to {target.url}; "
            f"run 'envctl apply --only {query.environment}' or pass requirements for an ad-hoc build"
        )
    request = _adhoc_request(query, spec)
    if query.force_rebuild:
        archive = adhoc.ensure_pinned(target, request)
        return Resolution(resource_ref(target, archive.name), PINNED, target.url, query.environment)
    archive = adhoc.ensure_temporary(target, request, ttl=settings.ADHOC_TTL.get())
    return Resolution(resource_ref(target, archive.name), ADHOC, target.url, query.environment,
                      archive.expires_at)


def _spec(project: Project, name: Optional[str]) -> Optional[Environment]:
    """The named environment's spec when this project defines it (gives python/platform)."""
    if not name or not project.spec_path(name).is_file():
        return None
    return project.environments([name])[name]


def deployed_version(target: Target, environment: str) -> Optional[VersionInfo]:
    """The controller's current version of ``environment`` in ``target`` (one state read)."""
    from envctl.deploy.observe import current_resource

    return current_resource(target, environment)


def _adhoc_request(query: Query, spec: Optional[Environment]) -> AdhocRequest:
    """Named env's spec decides interpreter, platform and indexes; else settings do."""
    if spec is not None:
        return AdhocRequest.create(
            query.requirements,
            python=query.python or spec.python,
            platform=spec.platform,
            prefer_binary=query.prefer_binary or spec.prefer_binary,
            pre_release=query.pre_release or spec.pre_release,
            index_url=spec.index_url,
            extra_index_urls=spec.extra_index_urls,
        )
    return AdhocRequest.create(
        query.requirements,
        python=query.python or settings.PYTHON.get(),
        platform=settings.PLATFORM.get() or DEFAULT_PLATFORM,
        prefer_binary=query.prefer_binary,
        pre_release=query.pre_release,
        index_url=settings.INDEX_URL.get(),
        extra_index_urls=settings.EXTRA_INDEX_URLS.get(),
    )
