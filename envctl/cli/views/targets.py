"""``envctl targets``: the configured targets, and the problems of ``envctl.toml``."""

from __future__ import annotations

import json
from typing import Any, Sequence

from envctl.console import redact
from envctl.spec.loader import Problem
from envctl.targets.config import TargetsConfig


def rows(config: TargetsConfig) -> list[dict[str, Any]]:
    """One row per target: URL (credentials redacted) and which credential variables are set."""
    return [
        {
            "name": t.name,
            "url": redact(t.url),
            "default": t.default,
            "description": t.description,
            "credentials": {
                key: {"variable": setting.name, "set": setting.raw() is not None}
                for key, setting in t.credential_settings().items()
            },
        }
        for t in config.targets
    ]


def render_text(rows: Sequence[dict[str, Any]], problems: Sequence[Problem]) -> str:
    """``* dev  odps://...`` lines (``*`` marks the default), then each problem."""
    lines = [str(p) for p in problems]
    if not rows and not problems:
        lines.append("no named targets (add [targets.<name>] tables to envctl.toml)")
    width = max((len(r["name"]) for r in rows), default=0)
    for row in rows:
        mark = "*" if row["default"] else " "
        line = f"{mark} {row['name']:<{width}}  {row['url']}"
        variables = [
            f"{c['variable']}{'' if c['set'] else ' (unset)'}" for c in row["credentials"].values()
        ]
        if variables:
            line += f"  credentials: {', '.join(variables)}"
        if row["description"]:
            line += f"  # {row['description']}"
        lines.append(line)
    return "".join(line + "\n" for line in lines)


def render_json(rows: Sequence[dict[str, Any]], problems: Sequence[Problem]) -> str:
    return json.dumps(
        {"ok": not problems, "targets": list(rows), "problems": [str(p) for p in problems]},
        indent=2,
    )
