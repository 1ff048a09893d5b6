"""``plan(desired, observed) -> Plan``: what apply would do, and why. Pure: no I/O.

Desired state is spec + lock (compared by lock hash; nothing is built to plan). Observed
state is the index plus one listing, which is also how out-of-band drift is noticed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence

from envctl import __version__
from envctl.deploy.state import Observed, VersionInfo
from envctl.errors import EnvctlError
from envctl.files import write_text_atomic

Action = Literal["create", "update", "noop", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "noop")
PLAN_FORMAT = 1
MTIME_TOLERANCE = 2.0


@dataclass(frozen=True)
class DesiredEnv:
    """One environment as git declares it: its lock's hash, python and platform."""

    name: str
    python: str
    platform: str
    lock_hash: Optional[str] = None
    lock_problem: Optional[str] = None
    """Why the lock cannot be used ("missing", "stale"); planning it is an error."""
    packages: tuple[tuple[str, str], ...] = ()
    """(name, version) the lock packs, so a plan can say what an update changes."""
    owners: tuple[str, ...] = ()
    """Who reviews changes to it (the spec's ``owners``), shown in the PR comment."""


@dataclass(frozen=True)
class Change:
    """The action for one environment with human-readable reasons."""

    environment: str
    action: Action
    reasons: tuple[str, ...] = ()
    current_version: Optional[int] = None
    current_sha256: Optional[str] = None
    current_lock: Optional[str] = None
    desired_lock: Optional[str] = None
    python: Optional[str] = None
    platform: Optional[str] = None
    reuse_version: Optional[int] = None
    """An existing version built from the same lock: apply re-points instead of building."""
    packages_diff: tuple[str, ...] = ()
    """What an update changes: ``+ six 1.17.0``, ``- foo 1.0``, ``~ pandas 2.3.1 -> 2.3.2``."""
    source_target: Optional[str] = None
    """Another configured target holding this lock's archive: apply copies its bytes, never
    rebuilds (``envctl.deploy.promote``)."""
    source_version: Optional[int] = None
    source_sha256: Optional[str] = None
    owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """A saved, reviewable decision bound to the target state it was computed against."""

    target: str
    fingerprint: str
    changes: tuple[Change, ...]
    created: float = field(default_factory=lambda: float(int(time.time())))
    """When the plan was made (whole seconds: it is shown and saved as ISO 8601 UTC)."""
    envctl_version: str = __version__
    functions_diff: tuple[str, ...] = ()
    """What apply does to SQL functions (``envctl.deploy.functions``), after the environments."""

    @property
    def has_changes(self) -> bool:
        return any(c.action != "noop" for c in self.changes) or bool(self.functions_diff)

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}

    @property
    def to_build(self) -> list[str]:
        """Environments apply will build (not re-pointed, not deleted, not copied from another
        target): a CI build matrix."""
        return [
            c.environment
            for c in self.changes
            if c.action in ("create", "update")
            and c.reuse_version is None
            and c.source_target is None
        ]

    def to_json(self) -> dict[str, Any]:
        """The saved and ``--format json`` form; ``created`` is ISO 8601 UTC."""
        data = asdict(self)
        data["created"] = iso_utc(self.created)
        return {
            "format": PLAN_FORMAT,
            **data,
            "has_changes": self.has_changes,
            "counts": self.counts(),
            "to_build": self.to_build,
        }

    @classmethod
    def from_json(cls, data: Any) -> Plan:
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise ValueError("not an envctl plan (missing or unsupported 'format')")
        changes = []
        for raw in data["changes"]:
            values = dict(raw)
            values["reasons"] = tuple(values.get("reasons", ()))
            values["packages_diff"] = tuple(values.get("packages_diff", ()))
            values["owners"] = tuple(values.get("owners", ()))
            if values.get("action") not in ACTIONS:
                raise ValueError(f"unknown action {values.get('action')!r}")
            changes.append(Change(**values))
        return cls(
            target=str(data["target"]),
            fingerprint=str(data["fingerprint"]),
            changes=tuple(changes),
            created=_timestamp(data["created"]),
            envctl_version=str(data.get("envctl_version", "")),
            functions_diff=tuple(str(line) for line in data.get("functions_diff", ())),
        )

    def save(self, path: Path) -> None:
        """Write the plan file atomically: ``apply PLAN_FILE`` never reads half of one."""
        write_text_atomic(path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise EnvctlError(f"plan file {path} does not exist") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise EnvctlError(f"plan file {path} is not a valid envctl plan: {exc}") from None


def iso_utc(timestamp: float) -> str:
    """``2026-11-26T05:46:01Z``: a POSIX time as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(value: Any) -> float:
    """A plan's ``created``: ISO 8601 (this version) or seconds (plans saved before)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def _drift(deployed: VersionInfo, observed: Observed) -> Optional[str]:
    info = observed.objects.get(deployed.resource)
    if info is None:
        return f"archive missing: {deployed.resource} was deleted out of band"
    if info.size != deployed.size or (
        deployed.uploaded_modified
        and abs(info.modified - deployed.uploaded_modified) > MTIME_TOLERANCE
    ):
        return f"drift: {deployed.resource} was changed out of band"
    return None


def _reusable(env: str, lock_hash: str, observed: Observed) -> Optional[int]:
    earlier = observed.state.env(env).find_lock(lock_hash)
    if earlier is None or _drift(earlier, observed):
        return None
    return earlier.version


def package_changes(
    old: Sequence[tuple[str, str]], new: Sequence[tuple[str, str]]
) -> tuple[str, ...]:
    """Reviewable lines for a lock change, by package name: added, removed, version changed."""
    before, after = dict(old), dict(new)
    lines = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            lines.append(f"+ {name} {after[name]}")
        elif name not in after:
            lines.append(f"- {name} {before[name]}")
        elif before[name] != after[name]:
            lines.append(f"~ {name} {before[name]} -> {after[name]}")
    return tuple(lines)


def diff_env(want: DesiredEnv, observed: Observed) -> Change:
    """The change for one declared environment (its lock must be usable)."""
    deployed = observed.state.env(want.name).current_version
    base: dict[str, Any] = dict(
        environment=want.name,
        desired_lock=want.lock_hash,
        python=want.python,
        platform=want.platform,
        owners=want.owners,
    )
    if deployed is None:
        reuse = _reusable(want.name, want.lock_hash or "", observed)
        return Change(
            action="create",
            reasons=("not deployed yet",),
            reuse_version=reuse,
            packages_diff=package_changes((), want.packages),
            **base,
        )
    reasons = []
    if deployed.adopted:
        reasons.append(f"{deployed.resource} was adopted (not built from a lock): replace it")
    elif want.lock_hash != deployed.lock_hash:
        reasons.append(f"lock changed ({deployed.lock_hash[:12]} -> {(want.lock_hash or '')[:12]})")
    if want.python != deployed.python:
        reasons.append(f"python changed ({deployed.python} -> {want.python})")
    if want.platform != deployed.platform:
        reasons.append(f"platform changed ({deployed.platform} -> {want.platform})")
    drift = _drift(deployed, observed)
    if drift:
        reasons.append(drift)
    reuse = _reusable(want.name, want.lock_hash or "", observed) if reasons and not drift else None
    lock_changed = want.lock_hash != deployed.lock_hash
    return Change(
        action="update" if reasons else "noop",
        reasons=tuple(reasons),
        packages_diff=package_changes(deployed.packages, want.packages) if lock_changed else (),
        current_version=deployed.version,
        current_sha256=deployed.sha256,
        current_lock=deployed.lock_hash,
        reuse_version=reuse if reuse != deployed.version else None,
        **base,
    )


def _lock_errors(desired: Sequence[DesiredEnv]) -> Optional[str]:
    broken = [d for d in desired if d.lock_problem]
    if not broken:
        return None
    names = " ".join(d.name for d in broken)
    details = "; ".join(f"{d.name}: lock {d.lock_problem}" for d in broken)
    return f"{details}; run 'envctl lock {names}' and commit the lock file(s)"


def plan(
    desired: Mapping[str, DesiredEnv],
    observed: Observed,
    *,
    target: str = "",
    only: Sequence[str] = (),
) -> Plan:
    """Compare git (``desired``) with the target (``observed``); ``only`` narrows to some envs."""
    deployed = set(observed.state.environments)
    for name in only:
        if name not in desired and name not in deployed:
            raise EnvctlError(
                f"--only {name!r}: no such environment in environments/ or in the target"
            )
    selected = set(only) if only else set(desired) | deployed
    wanted = [desired[name] for name in sorted(selected) if name in desired]
    problem = _lock_errors(wanted)
    if problem:
        raise EnvctlError(problem)
    changes = [diff_env(want, observed) for want in wanted]
    for name in sorted(selected - set(desired)):
        current = observed.state.env(name).current_version
        changes.append(
            Change(
                environment=name,
                action="delete",
                reasons=("not in environments/ any more (applied only with --prune)",),
                current_version=current.version if current else None,
                current_sha256=current.sha256 if current else None,
                current_lock=current.lock_hash if current else None,
            )
        )
    changes.sort(key=lambda c: c.environment)
    return Plan(target=target, fingerprint=observed.fingerprint, changes=tuple(changes))
