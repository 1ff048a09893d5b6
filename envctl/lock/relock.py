"""Re-locking that keeps what it can: the previous lock's pins are preferences, not history.

``uv lock`` and ``pixi`` keep every locked version that still satisfies the spec and the
target, so adding one package does not silently upgrade the rest. envctl does the same on top
of either resolver: the previous lock's versions (``name==version``, excluded packages too) are
passed as *constraints*, which limit versions without adding packages. Only what conflicts is
relaxed:

1. a pin that a direct requirement of the spec no longer allows is dropped up front;
2. when the constrained resolution fails, the packages the resolver names in its conflict
   (pip: ``Cannot install a and b ...``, ``(constraint) a==1``, ``requirement a==1``) lose
   their pins and it resolves again;
3. when nothing can be named (uv's messages, an unexpected failure), envctl resolves without
   pins and keeps exactly the pins that resolution agrees with, so the answer is still the one
   an unconstrained resolver gives for everything that had to move.

``--upgrade-package NAME`` drops NAME's pin (what it forces moves by step 2); ``--upgrade``
drops all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envctl import console
from envctl.errors import EnvctlError
from envctl.lock.lockfile import Lock
from envctl.lock.resolve import resolve_environment
from envctl.lock.target_python import TargetPython
from envctl.spec.loader import Environment


@dataclass(frozen=True)
class Upgrade:
    """Which pins of the previous lock may move: all (``--upgrade``) or the named packages."""

    everything: bool = False
    packages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, everything: bool = False, packages: Iterable[str] = ()) -> Upgrade:
        return cls(everything, frozenset(canonicalize_name(p) for p in packages))


@dataclass(frozen=True)
class Change:
    """One package whose locked version differs between two locks (``None``: absent)."""

    name: str
    before: Optional[str]
    after: Optional[str]

    @property
    def symbol(self) -> str:
        return "+" if self.before is None else "-" if self.after is None else "~"


@dataclass(frozen=True)
class Relocked:
    """The new lock, the pins it kept, and the pins that had to move (with why)."""

    lock: Lock
    kept: tuple[str, ...]
    relaxed: tuple[str, ...]


def locked_versions(lock: Lock) -> dict[str, str]:
    """``{name: version}`` of every package the lock resolved, packed or excluded."""
    versions = {p.name: p.version for p in lock.packages}
    versions.update({canonicalize_name(n): v for n, v in lock.excluded})
    return versions


def changes(before: Optional[Lock], after: Lock) -> list[Change]:
    """Added (+), removed (-) and moved (~) packages from ``before`` to ``after``, by name."""
    old = locked_versions(before) if before is not None else {}
    new = locked_versions(after)
    return [
        Change(name, old.get(name), new.get(name))
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]


def _allowed_by_spec(env: Environment, name: str, version: str) -> bool:
    """False when a direct requirement of the spec excludes ``name==version``."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    for text in env.requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == name and not req.specifier.contains(
            parsed, prereleases=True
        ):
            return False
    return True


_CANNOT_INSTALL = re.compile(r"Cannot install (.+?) because")
_PINNED = re.compile(r"(?:\(constraint\)|requirement)\s+([A-Za-z0-9][A-Za-z0-9._-]*)\s*==")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def conflicting_names(message: str) -> set[str]:
    """Package names a resolver failure blames (pip's wording; empty when none can be read)."""
    names: set[str] = {canonicalize_name(m) for m in _PINNED.findall(message)}
    for listed in _CANNOT_INSTALL.findall(message):
        for part in re.split(r",\s*|\s+and\s+", listed):
            found = _NAME.match(part.strip())
            if found:
                names.add(canonicalize_name(found.group(0)))
    return names


def _constraints(pins: dict[str, str]) -> list[str]:
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _direct_names(env: Environment) -> set[str]:
    """Direct requirements that apply to the target (a marker-excluded one never gets locked,
    so it must not count as new on every re-lock)."""
    target = TargetPython.of(env.python, env.platform)
    names: set[str] = set()
    for text in env.requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is None or target.evaluate(str(req.marker)):
            names.add(canonicalize_name(req.name))
    return names


def relock(
    env: Environment,
    previous: Optional[Lock],
    *,
    upgrade: Upgrade = Upgrade(),
    resolver: Optional[str] = None,
) -> Relocked:
    """Resolve ``env`` keeping every pin of ``previous`` that still fits (see the module doc).

    Without a previous lock, or with ``upgrade.everything``, this is a plain resolution.
    Packages asked to move, and direct requirements new to the lock, get the version a
    resolution without pins gives them (the newest that fits, as ``uv lock`` does): with hard
    pins alone, pip would rather keep an old version of them than move a pinned dependency.
    """
    pins = {} if previous is None or upgrade.everything else locked_versions(previous)
    if not pins:
        return Relocked(resolve_environment(env, resolver=resolver), (), ())
    relaxed = sorted(name for name in pins if name in upgrade.packages)
    for name in relaxed:
        del pins[name]
    for name, version in sorted(pins.items()):
        if not _allowed_by_spec(env, name, version):
            relaxed.append(name)
            del pins[name]
    moving = set(upgrade.packages) | (_direct_names(env) - pins.keys())
    fresh: Optional[Lock] = None
    targets: dict[str, str] = {}
    if moving and pins:
        fresh = resolve_environment(env, resolver=resolver)
        targets = {n: v for n, v in locked_versions(fresh).items() if n in moving}
    while pins:
        try:
            lock = resolve_environment(
                env, resolver=resolver, constraints=_constraints({**pins, **targets})
            )
        except EnvctlError as exc:
            blamed = conflicting_names(exc.message) & pins.keys()
            if not blamed:
                break
            console.debug(
                f"{env.name}: pins in conflict, letting them move: {', '.join(sorted(blamed))}"
            )
            relaxed += sorted(blamed)
            for name in blamed:
                del pins[name]
            continue
        return Relocked(lock, tuple(sorted(pins)), tuple(sorted(relaxed)))
    lock = fresh or resolve_environment(env, resolver=resolver)
    versions = locked_versions(lock)
    moved = sorted(name for name, version in pins.items() if versions.get(name, version) != version)
    kept = sorted(name for name in pins if name not in moved and name in versions)
    return Relocked(lock, tuple(kept), tuple(sorted(relaxed + moved)))
