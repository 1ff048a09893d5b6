"""``envctl lock``: a line per environment (created, updated, unchanged, or its check), or JSON.

Rows are the JSON objects themselves, so text and JSON always say the same thing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from envctl.cli.views.lock_changes import change_line
from envctl.console import redact
from envctl.lock.lockfile import Lock
from envctl.lock.relock import Change

Row = Mapping[str, Any]


def row(
    name: str, path: Path, status: str, lock: Lock, moved: Sequence[Change] = ()
) -> dict[str, Any]:
    """The row of one written (or unchanged) lock, with the packages the re-lock moved."""
    return {
        "environment": name,
        "lock": str(path),
        "status": status,
        "python": lock.python,
        "platform": lock.platform,
        "resolver": lock.resolver,
        "packages": [{"name": p.name, "version": p.version, "kind": p.kind} for p in lock.packages],
        "excluded": [{"name": n, "version": v} for n, v in lock.excluded],
        "changes": [{"name": c.name, "before": c.before, "after": c.after} for c in moved],
    }


def check_row(name: str, path: Path, status: str) -> dict[str, Any]:
    """A ``lock --check`` row: ``current``, ``missing``, ``stale (...)`` or ``corrupt (...)``."""
    return {"environment": name, "lock": str(path), "status": status}


def render_text(rows: Sequence[Row], *, check: bool) -> str:
    """One line per environment; after a re-lock, a line per package that moved."""
    if check:
        return "".join(f"{r['environment']}: {r['status']}\n" for r in rows)
    lines = []
    for r in rows:
        lines.append(
            f"{r['environment']}: {r['status']} {Path(r['lock']).name} "
            f"({len(r['packages'])} packages, CPython {r['python']}, {r['resolver']})"
        )
        lines += ["  " + change_line(change) for change in r.get("changes", ())]
    return "".join(line + "\n" for line in lines)


def not_current(rows: Sequence[Row]) -> str:
    """The hint after a failed ``--check``."""
    names = ", ".join(f"{r['environment']} ({r['status'].split(' (')[0]})" for r in rows)
    return f"locks not current: {names}; run 'envctl lock'"


def render_json(rows: Sequence[Row], *, ok: bool) -> str:
    return redact(json.dumps({"ok": ok, "environments": list(rows)}, indent=2, sort_keys=True))
