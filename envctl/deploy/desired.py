"""Desired state from git: each environment's spec plus its committed lock (no building)."""

from __future__ import annotations

from typing import Iterable, Optional

from envctl.lock.lockfile import Lock, read_lock, staleness
from envctl.deploy.plan import DesiredEnv
from envctl.spec.project import Project
from envctl.spec.loader import Environment
from envctl.lock.target_python import full_version


def load_locks(project: Project, environments: Iterable[Environment]) -> dict[str, Optional[Lock]]:
    """The lock of each environment, None where the lock file does not exist."""
    locks: dict[str, Optional[Lock]] = {}
    for env in environments:
        path = project.lock_path(env.name)
        locks[env.name] = read_lock(path) if path.is_file() else None
    return locks


def desired_state(environments: dict[str, Environment], locks: dict[str, Optional[Lock]]) -> dict[str, DesiredEnv]:
    """What plan compares against the target; missing or stale locks are flagged, not guessed."""
    desired = {}
    for name, env in environments.items():
        lock = locks.get(name)
        problem = staleness(env, lock)
        desired[name] = DesiredEnv(
            name=name,
            python=lock.python if lock else full_version(env.python),
            platform=lock.platform if lock else env.platform,
            lock_hash=lock.lock_hash() if lock and not problem else None,
            lock_problem=problem,
            packages=tuple(sorted((p.name, p.version) for p in lock.packages)) if lock else (),
            owners=env.owners,
        )
    return desired
