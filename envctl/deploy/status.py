"""``status(desired, observed) -> list[EnvStatus]``: each environment's deployed version and
whether it matches git. Pure, beside the planner it reuses (``diff_env``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from envctl.deploy.plan import DesiredEnv, diff_env
from envctl.deploy.state import Observed, VersionInfo

IN_SYNC = "in sync"


@dataclass(frozen=True)
class EnvStatus:
    """One row of ``envctl status``: what is deployed and how it differs from git."""

    environment: str
    deployed: Optional[VersionInfo]
    sync: str
    """``in sync``, or why not (the plan's reasons, a lock problem, or not declared any more)."""

    @property
    def in_sync(self) -> bool:
        return self.sync == IN_SYNC

    def to_json(self) -> dict[str, Any]:
        current = self.deployed
        return {
            "environment": self.environment,
            "version": current.version if current else None,
            "resource": current.resource if current else None,
            "sha256": current.sha256 if current else None,
            "python": current.python if current else None,
            "size": current.size if current else None,
            "created": current.created if current else None,
            "git_commit": current.git_commit if current else None,
            "sbom": current.sbom if current else None,
            "note": current.note if current else None,
            "in_sync": self.in_sync,
            "sync": self.sync,
        }


def _sync(want: Optional[DesiredEnv], observed: Observed) -> str:
    if want is None:
        return "not in environments/ (delete with apply --prune)"
    if want.lock_problem:
        return f"lock {want.lock_problem}"
    change = diff_env(want, observed)
    return IN_SYNC if change.action == "noop" else "; ".join(change.reasons)


def status(desired: Mapping[str, DesiredEnv], observed: Observed) -> list[EnvStatus]:
    """One row per environment declared in git or deployed to the target, by name."""
    names = sorted(set(desired) | set(observed.state.environments))
    return [
        EnvStatus(
            name, observed.state.env(name).current_version, _sync(desired.get(name), observed)
        )
        for name in names
    ]
