"""``envctl validate``: ``path:line:col: message`` per problem and a summary, or JSON."""

from __future__ import annotations

import json

from envctl.console import redact
from envctl.spec.loader import LoadResult


def problem_lines(result: LoadResult) -> str:
    """``path:line:col: message`` per problem, a caret under the error when there is one."""
    return "".join(
        redact("\n".join((str(p), *getattr(p, "pointer", ())))) + "\n" for p in result.problems
    )


def summary(result: LoadResult) -> str:
    if result.problems:
        files = len({p.path for p in result.problems})
        return f"{len(result.problems)} problem(s) in {files} file(s)"
    return f"{len(result.files)} file(s), {len(result.environments)} environment(s): all valid"


def render_json(result: LoadResult) -> str:
    data = {
        "valid": not result.problems,
        "environments": sorted(result.environments),
        "problems": [
            {"path": str(p.path), "line": p.line, "column": p.col, "message": p.message}
            for p in result.problems
        ],
    }
    return redact(json.dumps(data, indent=2, sort_keys=True))
