"""Acting on a :data:`~envctl.udf.decide.Decision`: mark the function, queue client builds.

Only this module and :mod:`envctl.udf.background` touch the target after a decision; the
builds themselves run on a worker thread, so decoration returns at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from envctl import settings
from envctl.errors import EnvctlError
from envctl.udf import adhoc, background, marking
from envctl.udf.decide import (
    ClientBuild,
    Decision,
    LockBuild,
    Passthrough,
    Refusal,
    ServicePack,
    UseDeployed,
)
from envctl.udf.marking import mark, mark_service_pack


def apply_decision(decision: Decision, func: Callable[..., Any]) -> Any:
    """What the decorator returns for ``func`` under ``decision`` (raises on a refusal)."""
    if isinstance(decision, Passthrough):
        return func
    if isinstance(decision, Refusal):
        raise EnvctlError(decision.message)
    if isinstance(decision, UseDeployed):
        return mark(func, [decision.resource])
    if isinstance(decision, ServicePack):
        return mark_service_pack(func, decision)
    if isinstance(decision, ClientBuild):
        job = background.submit(decision.name, _describe(decision), lambda: _client_build(decision))
        return mark(_deferred(func, job), [decision.resource])
    if isinstance(decision, LockBuild):
        return _lock_build(decision, func)
    raise AssertionError(f"unknown decision {decision!r}")


def _deferred(
    func: Callable[..., Any], job: background.Job, *, late: bool = False
) -> Callable[..., Any]:
    """With MaxFrame, a wrapper whose pickling (at submission) waits for ``job``."""
    return background.Deferred(func, job, late=late) if marking.maxframe_udf() is not None else func


def _describe(decision: ClientBuild) -> str:
    kind = "long-term" if decision.pinned else "temporary"
    reqs = " ".join(decision.request.requirements)
    return f"building {kind} {decision.name} ({reqs}; CPython {decision.request.python})"


def _open(url: str) -> Any:
    from envctl.spec.project import find_project
    from envctl.udf.resolution import open_target

    return open_target(url, find_project())


def _fresh_until(expires_at: float | None = None) -> float:
    """Ask the target again after the resolve TTL, and before a temporary archive expires."""
    import time

    from envctl.udf.cache import resolve_ttl

    until = time.time() + resolve_ttl()
    if expires_at is not None:
        until = min(until, expires_at - adhoc.expiry_margin(settings.ADHOC_TTL.get()))
    return until


def _client_build(decision: ClientBuild) -> background.Published:
    target = _open(decision.target_url)
    if decision.pinned:
        pinned = adhoc.ensure_pinned(target, decision.request, decision.name)
        return background.Published(pinned.name, float("inf"))  # long-term, once per process
    archive = adhoc.ensure_temporary(target, decision.request, ttl=settings.ADHOC_TTL.get())
    return background.Published(archive.name, _fresh_until(archive.expires_at))


def _lock_build(decision: LockBuild, func: Callable[..., Any]) -> Any:
    """Build the lock's archive (what ``apply`` uploads, under the same name) and publish it.

    The name is content-addressed, so it is known at once only when this machine built the
    lock before; otherwise it is attached to the function when the build ends and
    ``envctl.udf.ready()`` must run before the job is submitted (the submission hook says so).
    """
    from envctl.build.builder import cached_archive
    from envctl.build.cache import Cache
    from envctl.deploy.state import archive_name

    built = cached_archive(Cache.default(), decision.lock.lock_hash())
    known = archive_name(decision.environment, built.sha256) if built is not None else None
    job = background.submit(
        f"lock:{decision.target_url}:{decision.lock.lock_hash()}",
        f"building {decision.environment} from its lock ({len(decision.lock.packages)} packages)",
        lambda: _publish_lock(decision),
    )
    if known is not None:
        return mark(_deferred(func, job), [_ref(decision.target_url, known)])
    marked = mark(_deferred(func, job, late=True), [])
    job.when_published(lambda name: _attach(marked, _ref(decision.target_url, name)))
    return marked


def _ref(target_url: str, name: str) -> str:
    """How MaxFrame names resource ``name`` of the target at ``target_url`` (schema included)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    from envctl.udf.decide import TargetFacts

    parts = urlsplit(target_url)
    if parts.scheme != "odps":
        return name
    schema = (parse_qs(parts.query).get("schema") or [""])[-1]
    return TargetFacts(target_url, True, unquote(parts.netloc), schema=schema or None).ref(name)


def _attach(marked: Any, resource: str) -> None:
    from envctl.udf.marking import RESOURCES_ATTR

    udf = marking.maxframe_udf()
    if udf is not None and isinstance(marked, udf.MarkedFunction):
        if resource not in marked.file_resources:
            marked.file_resources.append(resource)
    else:
        existing = getattr(marked, RESOURCES_ATTR, [])
        if resource not in existing:
            existing.append(resource)


def _publish_lock(decision: LockBuild) -> background.Published:
    from envctl.build.builder import build
    from envctl.deploy.state import archive_name
    from envctl.targets.base import ObjectExists

    built = build(decision.spec, decision.lock, progress=False)
    name = archive_name(decision.environment, built.sha256)
    target = _open(decision.target_url)
    existing = target.stat(name)
    if existing is not None and existing.size == built.size and existing.md5 in (None, built.md5):
        return background.Published(name, _fresh_until())
    if existing is not None:
        target.delete(name)
    with contextlib.suppress(ObjectExists):  # published meanwhile by another process: same bytes
        target.put_file(name, built.path, md5=built.md5, kind="archive")
    adhoc.stats["uploads"] += 1
    return background.Published(name, _fresh_until())
