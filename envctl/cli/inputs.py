"""What several commands read from the repository: usable locks, and options they share."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from envctl import console
from envctl.errors import EnvctlError
from envctl.lock.lockfile import Lock, read_lock, staleness
from envctl.spec.loader import Environment
from envctl.spec.project import Project


def current_lock(project: Project, env: Environment) -> Lock:
    """The lock of ``env``, refusing a missing, corrupt or stale one with the fix to run."""
    path = project.lock_path(env.name)
    if not path.is_file():
        raise EnvctlError(
            f"{env.name!r} has no lock file ({path.name}); run 'envctl lock {env.name}'"
        )
    lock = read_lock(path)
    problem = staleness(env, lock)
    if problem:
        raise EnvctlError(f"the lock of {env.name!r} is {problem}; run 'envctl lock {env.name}'")
    return lock


def lock_status(project: Project, env: Environment) -> str:
    """'current', 'missing', 'stale (...)' or 'corrupt (...)' — no network involved."""
    path = project.lock_path(env.name)
    if not path.is_file():
        return "missing"
    try:
        return staleness(env, read_lock(path)) or "current"
    except EnvctlError as exc:
        return f"corrupt ({exc.message})"


def previous_lock(path: Path) -> Optional[Lock]:
    """The lock at ``path`` whose pins a re-lock keeps; a missing or unreadable one keeps none."""
    if not path.is_file():
        return None
    try:
        return read_lock(path)
    except EnvctlError as exc:
        console.warn(f"{path.name} cannot be read ({exc.message}); resolving without its pins")
        return None
