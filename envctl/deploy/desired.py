"""Desired state from git: each environment's spec plus its committed lock (no building).

``Desired`` is the one input of plan, status, apply and gc: per environment name the spec,
the lock (None when missing) and the ``DesiredEnv`` that plan compares with the target.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional

from envctl import settings
from envctl.deploy.plan import DesiredEnv
from envctl.lock.lockfile import Lock, read_lock, staleness
from envctl.lock.target_python import full_version
from envctl.spec.loader import Environment
from envctl.spec.project import Project


@dataclass(frozen=True)
class DesiredEntry:
    """One environment as git declares it."""

    environment: Environment
    lock: Optional[Lock]
    version: DesiredEnv
    """What plan compares with the deployed version (lock hash, python, platform, packages)."""


@dataclass(frozen=True)
class Desired:
    """Every declared environment by name; iterate for names, index for an entry."""

    entries: Mapping[str, DesiredEntry]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> DesiredEntry:
        return self.entries[name]

    @property
    def versions(self) -> dict[str, DesiredEnv]:
        """The planner's view: name -> ``DesiredEnv``."""
        return {name: entry.version for name, entry in self.entries.items()}

    @property
    def environments(self) -> dict[str, Environment]:
        """The specs by name."""
        return {name: entry.environment for name, entry in self.entries.items()}

    @property
    def lock_hashes(self) -> frozenset[str]:
        """Hashes of the usable locks git declares (the versions the next apply deploys)."""
        return frozenset(e.version.lock_hash for e in self.entries.values() if e.version.lock_hash)

    @classmethod
    def of(
        cls, environments: Mapping[str, Environment], locks: Mapping[str, Optional[Lock]]
    ) -> Desired:
        """Pair specs with locks; a missing or stale lock is flagged, not guessed."""
        return cls(
            {
                name: DesiredEntry(env, locks.get(name), desired_env(env, locks.get(name)))
                for name, env in environments.items()
            }
        )


def desired_env(env: Environment, lock: Optional[Lock]) -> DesiredEnv:
    """What plan compares against the target for one environment."""
    problem = staleness(env, lock)
    return DesiredEnv(
        name=env.name,
        python=lock.python if lock else full_version(env.python),
        platform=lock.platform if lock else env.platform,
        lock_hash=lock.lock_hash() if lock and not problem else None,
        lock_problem=problem,
        packages=tuple(sorted((p.name, p.version) for p in lock.packages)) if lock else (),
        owners=env.owners,
    )


def load_locks(project: Project, environments: Iterable[Environment]) -> dict[str, Optional[Lock]]:
    """The lock of each environment, None where the lock file does not exist."""
    locks: dict[str, Optional[Lock]] = {}
    for env in environments:
        path = project.lock_path(env.name)
        locks[env.name] = read_lock(path) if path.is_file() else None
    return locks


def load_desired(project: Project) -> Desired:
    """All of the project's environments with their committed locks."""
    environments = project.environments()
    return Desired.of(environments, load_locks(project, environments.values()))


def desired_state(
    environments: dict[str, Environment], locks: dict[str, Optional[Lock]]
) -> dict[str, DesiredEnv]:
    """The planner's input straight from specs and locks (``Desired.of(...).versions``)."""
    return Desired.of(environments, locks).versions


def git_commit(root: Path) -> Optional[str]:
    """The commit being applied: ``GITHUB_SHA`` in CI, else ``git rev-parse HEAD``, else None."""
    sha = settings.GITHUB_SHA.get()
    if sha:
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None
