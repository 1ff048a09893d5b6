"""``envctl codeowners``: CODEOWNERS lines from the specs' ``owners:``.

GitHub then asks each environment's owners to review changes to its spec and its lock,
which keeps the ownership in one place (the spec) instead of two.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from envctl.spec.loader import Environment


def handle(owner: str) -> str:
    """A CODEOWNERS owner: ``@user``, ``@org/team`` or an e-mail address as written; a bare
    name gets its ``@``."""
    return owner if owner.startswith("@") or "@" in owner else f"@{owner}"


def codeowners_lines(
    root: Path, environments: Iterable[Environment], lock_path: Callable[[str], Path]
) -> list[str]:
    """``/environments/<spec> owners`` and ``/environments/pylock.<name>.toml owners`` for every
    environment with owners, sorted by path (later lines win in CODEOWNERS, so none overlap)."""
    lines = []
    for env in environments:
        if not env.owners:
            continue
        owners = " ".join(handle(o) for o in env.owners)
        spec = env.path if env.path is not None else root / "environments" / f"{env.name}.yaml"
        for path in (spec, lock_path(env.name)):
            lines.append(f"/{path.resolve().relative_to(root.resolve()).as_posix()} {owners}")
    return sorted(lines)
