"""``envctl status``: aligned rows for people (never wrapped), JSON for machines."""

from __future__ import annotations

import json
from typing import Sequence

from envctl.build.size import human
from envctl.console import redact
from envctl.deploy.status import EnvStatus

COLUMNS = ("environment", "version", "python", "size", "age", "git")


def age(seconds: float) -> str:
    """``3d``, ``5h``, ``12m``, ``40s``: the largest whole unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


def _cells(row: EnvStatus, now: float) -> tuple[str, ...]:
    v = row.deployed
    if v is None:
        return (row.environment, "-", "-", "-", "-", row.sync)
    return (row.environment, v.label, v.python, human(v.size), age(now - v.created), row.sync)


def render_text(rows: Sequence[EnvStatus], target: str, now: float) -> str:
    """A header and one line per environment; columns padded, the last one never cut or wrapped."""
    table = [COLUMNS, *(_cells(row, now) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    lines = [f"Target: {redact(target)}"]
    for line in table:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1]
        )
    return "\n".join(lines) + "\n"


def render_json(rows: Sequence[EnvStatus], target: str) -> str:
    return redact(
        json.dumps(
            {"target": target, "environments": [r.to_json() for r in rows]},
            indent=2,
            sort_keys=True,
        )
    )
