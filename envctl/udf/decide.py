"""The runtime's one rule book: from what a decorator asked to what MaxFrame gets. Pure.

``decide(query, session, target, env, defaults, mode)`` takes values (the decorator's
arguments, the MaxFrame session, what the target holds, the named environment's spec and
lock) and returns one :data:`Decision`; reading the target, building and uploading happen at
the edges (:mod:`envctl.udf.resolution`, :mod:`envctl.udf.background`). The rules:

1. Under ``envctl exec`` the packages are already importable: pass the function through.
2. A named environment must be built for the session's Python (``cpXY``), must satisfy the
   decorator's requirements with its *locked* versions, and must live where MaxFrame jobs
   can read it (a MaxCompute target) when MaxFrame is in use.
3. Its deployed version wins. Otherwise its committed lock is used, never a re-resolution:
   the lock's exact pins go to MaxFrame's server-side packer (service mode) or the archive
   ``apply`` would build is built and uploaded on the client (client mode).
4. Requirements alone go to MaxFrame's own packer in service mode (the default), exactly what
   ``maxframe.udf.with_python_requirements`` does; in client mode (or without MaxFrame) they
   are built by envctl under a name fixed by the request, so decoration never waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envctl.deploy.state import VersionInfo
from envctl.lock.lockfile import Lock
from envctl.lock.target_python import TargetPython
from envctl.spec.loader import Environment
from envctl.spec.runtimes import python_tag, runtime_python
from envctl.udf.keys import AdhocRequest
from envctl.udf.session import Session

SERVICE, CLIENT = "service", "client"
MODES = (SERVICE, CLIENT)


@dataclass(frozen=True)
class Query:
    """What one decorator asked for (hashable: it keys the in-process memo)."""

    environment: str | None = None
    requirements: tuple[str, ...] = ()
    force_rebuild: bool = False
    prefer_binary: bool = False
    pre_release: bool = False
    target: str | None = None
    python: str | None = None
    no_audit_wheel: bool = False


@dataclass(frozen=True)
class TargetFacts:
    """Where envctl stores archives, and the named environment's deployed version there."""

    url: str
    maxcompute: bool
    project: str | None = None  # MaxCompute project: references are <project>/resources/<name>
    deployed: VersionInfo | None = None
    schema: str | None = None  # of a three-tier project: <project>/schemas/<schema>/resources/...

    def ref(self, name: str) -> str:
        """How MaxFrame names a resource of this target, as ``maxframe.udf.with_resources``
        formats an ``odps.models.Resource`` (project, then ``schemas/<schema>`` if any)."""
        if not self.project:
            return name
        schema = f"schemas/{self.schema}/" if self.schema else ""
        return f"{self.project}/{schema}resources/{name}"


@dataclass(frozen=True)
class EnvFacts:
    """The named environment as this project defines it (both None when it does not)."""

    spec: Environment | None = None
    lock: Lock | None = None
    lock_current: bool = False


@dataclass(frozen=True)
class Defaults:
    """Settings for requirements-only client builds (``ENVCTL_PYTHON``, ``ENVCTL_PLATFORM`` ...)."""

    python: str
    platform: str
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    pin_stamp: str = ""  # names this process's force_rebuild archives


@dataclass(frozen=True)
class Passthrough:
    """Return the function unchanged."""


@dataclass(frozen=True)
class UseDeployed:
    resource: str
    environment: str


@dataclass(frozen=True)
class ServicePack:
    """Delegate to ``maxframe.udf.with_python_requirements`` (server-side packing)."""

    requirements: tuple[str, ...]
    force_rebuild: bool = False
    prefer_binary: bool = False
    pre_release: bool = False
    no_audit_wheel: bool = False
    environment: str | None = None  # set when the pins come from that environment's lock


@dataclass(frozen=True)
class ClientBuild:
    """Build ``request`` on the client and publish it as ``name`` (temporary unless pinned)."""

    request: AdhocRequest
    name: str
    resource: str
    target_url: str
    pinned: bool = False


@dataclass(frozen=True)
class LockBuild:
    """Build the environment's committed lock (the archive ``apply`` uploads) and publish it."""

    environment: str
    spec: Environment
    lock: Lock
    target_url: str


@dataclass(frozen=True)
class Refusal:
    message: str


Decision = Union[Passthrough, UseDeployed, ServicePack, ClientBuild, LockBuild, Refusal]


def decide(
    query: Query,
    session: Session,
    target: TargetFacts,
    env: EnvFacts,
    defaults: Defaults,
    mode: str,
) -> Decision:
    """The decision for one decorator; see the module docstring for the rules."""
    if session.under_exec:
        return Passthrough()
    if query.requirements:
        from envctl.spec.requirements import RequirementError, normalize_requirements

        try:
            normalize_requirements(query.requirements)
        except RequirementError as exc:
            return Refusal(f"invalid requirement: {exc}")
    if query.environment and (env.spec is not None or target.deployed is not None):
        return _named(query, session, target, env, mode)
    if not query.requirements:
        if query.environment is None:
            return Refusal("with_python_requirements needs requirements or env=<environment name>")
        return Refusal(
            f"environment {query.environment!r} is not defined in this project and is not "
            f"deployed to {target.url}; run 'envctl apply --only {query.environment}' or pass "
            "requirements for an ad-hoc build"
        )
    return _requirements_only(query, session, target, defaults, mode)


def _named(
    query: Query, session: Session, target: TargetFacts, env: EnvFacts, mode: str
) -> Decision:
    name = query.environment
    assert name is not None
    python = target.deployed.python if target.deployed is not None else env.spec.python  # type: ignore[union-attr]
    if session.python_tag and python_tag(python) != session.python_tag:
        return Refusal(
            f"environment {name} is built for {python_tag(python)}; "
            f"this session runs {session.python_tag}" + _image_note(session)
        )
    if query.force_rebuild:
        return Refusal(
            "force_rebuild re-resolves requirements, but environment "
            f"{name!r} is pinned by its lock; "
            f"drop env= for an ad-hoc build, or run 'envctl lock --upgrade {name}'"
        )
    if query.requirements and env.lock is not None:
        problem = lock_mismatch(query.requirements, env.lock)
        if problem:
            return Refusal(f"environment {name!r} does not satisfy the decorator: {problem}")
    if session.maxframe and not target.maxcompute:
        return Refusal(
            f"environment {name!r} is stored in {target.url}, which MaxFrame jobs cannot read; "
            "set ENVCTL_TARGET=odps://<project>?endpoint=<url> (or target=) "
            "to its MaxCompute project"
        )
    if target.deployed is not None:
        return UseDeployed(target.ref(target.deployed.resource), name)
    if env.lock is None:
        return Refusal(
            f"environment {name!r} is not deployed to {target.url} and has no committed lock; "
            f"run 'envctl lock {name}' and 'envctl apply --only {name}'"
        )
    if not env.lock_current:
        return Refusal(
            f"environment {name!r} is not deployed and its lock is out of date; "
            f"run 'envctl lock {name}'"
        )
    if session.maxframe and mode == SERVICE:
        pins = tuple(f"{p.name}=={p.version}" for p in env.lock.packages)
        return ServicePack(pins, environment=name)
    assert env.spec is not None  # a lock is only read next to its spec
    return LockBuild(name, env.spec, env.lock, target.url)


def _requirements_only(
    query: Query, session: Session, target: TargetFacts, defaults: Defaults, mode: str
) -> Decision:
    if session.maxframe and mode == SERVICE:
        return ServicePack(
            query.requirements,
            query.force_rebuild,
            query.prefer_binary,
            query.pre_release,
            query.no_audit_wheel,
        )
    if session.maxframe and not target.maxcompute:
        return Refusal(
            f"client-side builds (ENVCTL_ADHOC=client) are stored in {target.url}, which "
            "MaxFrame jobs cannot read; set ENVCTL_TARGET=odps://<project>?endpoint=<url>, "
            "or unset ENVCTL_ADHOC to let MaxFrame pack"
        )
    session_python = tag_python(session.python_tag) if session.python_tag else None
    request = AdhocRequest.create(
        query.requirements,
        python=query.python or session_python or defaults.python,
        platform=defaults.platform,
        prefer_binary=query.prefer_binary,
        pre_release=query.pre_release,
        index_url=defaults.index_url,
        extra_index_urls=defaults.extra_index_urls,
        no_audit_wheel=query.no_audit_wheel,
    )
    name = (
        request.pinned_name(defaults.pin_stamp) if query.force_rebuild else request.temporary_name
    )
    return ClientBuild(request, name, target.ref(name), target.url, pinned=query.force_rebuild)


def _image_note(session: Session) -> str:
    return f" (image {session.image_name})" if session.image_name else ""


def tag_python(tag: str) -> str | None:
    """The CPython a session tag means: a MaxCompute runtime's version (``cp37`` -> 3.7.3), else
    the minor the tag names (``cp310`` -> 3.10, as in a custom image); None for other tags."""
    known = runtime_python(tag)
    if known is not None:
        return known
    digits = tag[2:] if tag.startswith("cp") else ""
    return f"{digits[0]}.{digits[1:]}" if digits.isdigit() and len(digits) >= 2 else None


def lock_mismatch(requirements: tuple[str, ...], lock: Lock) -> str | None:
    """The first requirement the lock's versions do not satisfy, as a message; None if all do.

    Requirements whose marker is false on the lock's target are ignored; excluded packages
    (provided by the runtime) are checked against the version they were resolved at.
    """
    from envctl.spec.requirements import split_requirements

    target = TargetPython.of(lock.python, lock.platform)
    locked = {p.name: p.version for p in lock.packages}
    locked.update({canonicalize_name(n): v for n, v in lock.excluded})
    for text in [single for given in requirements for single in split_requirements(given)]:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue  # reported by the caller's normalization
        if req.marker is not None and not target.evaluate(str(req.marker)):
            continue
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            return f"{req.name} is not in the lock ({lock.environment} pins {len(locked)} packages)"
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            return f"{text} is required, the lock has {req.name} {version}"
    return None
