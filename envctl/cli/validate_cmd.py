"""``envctl validate``: every problem in every spec file, as ``path:line:col: message``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from envctl import console
from envctl.cli.app import app, format_option, options
from envctl.spec.loader import load_environments
from envctl.spec.runtimes import runtime_warning


@app.command()
def validate(
    paths: Optional[List[Path]] = typer.Argument(
        None, help="Spec files or directories (default: the project's environments/)."
    ),
    output_format: str = format_option("text", "json"),
) -> None:
    """Check environment specs against the schema and each other; exit 1 on any problem."""
    project = options.project()
    targets = list(paths) if paths else [project.environments_dir]
    result = load_environments(targets)
    problems = list(result.problems)
    if not paths:  # the project file (named targets) is validated with the specs
        from envctl.targets.config import check_config

        problems += check_config(project)[1]
    for env in result.environments.values():
        warning = None if env.custom_image else runtime_warning(env.name, env.python)
        if warning:
            console.warn(warning)
    if output_format == "json":
        console.print_json(
            {
                "valid": not problems,
                "environments": sorted(result.environments),
                "problems": [
                    {"path": str(p.path), "line": p.line, "column": p.col, "message": p.message}
                    for p in problems
                ],
            }
        )
    else:
        for problem in problems:
            print(console.redact(str(problem)))
        if problems:
            files = len({p.path for p in problems})
            console.info(f"{len(problems)} problem(s) in {files} file(s)")
        else:
            console.info(f"{len(result.files)} file(s), {len(result.environments)} environment(s): all valid")
    if problems:
        raise typer.Exit(1)
