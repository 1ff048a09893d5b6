"""``envctl apply``: one line per environment and a summary, or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from envctl.console import redact
from envctl.deploy.apply import ApplyResult


def render_text(result: ApplyResult, elapsed: float) -> str:
    lines = [f"  {o.environment}: {o.detail}" for o in result.outcomes]
    done = sum(1 for o in result.outcomes if o.action != "skipped")
    lines.append(f"Apply complete: {done} environment(s) changed in {elapsed:.1f} s.")
    return "\n".join(lines) + "\n"


def render_json(result: ApplyResult) -> str:
    data = {"changed": result.changed, "outcomes": [asdict(o) for o in result.outcomes]}
    return redact(json.dumps(data, indent=2, sort_keys=True))
