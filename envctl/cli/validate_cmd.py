"""``envctl validate``: every problem in every spec file, as ``path:line:col: message``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from envctl import console
from envctl.cli.app import command, format_option, options
from envctl.cli.views import validate as view
from envctl.spec.loader import load_environments
from envctl.spec.runtimes import runtime_warning


@command("validate")
def validate(
    paths: Optional[list[Path]] = typer.Argument(
        None,
        metavar="PATH...",
        help="Spec files or directories (default: the project's environments/).",
    ),
    output_format: str = format_option("text", "json"),
) -> None:
    """Check environment specs against the schema and each other.

    Exits 1 on any problem.
    """
    project = options.project()
    targets = list(paths) if paths else [project.require_environments_dir()]
    result = load_environments(targets)
    if not paths:  # the project file (named targets) is validated with the specs
        from envctl.targets.config import check_config

        result.problems.extend(check_config(project)[1])
    for env in result.environments.values():
        warning = None if env.custom_image else runtime_warning(env.name, env.python)
        if warning:
            console.warn(warning)
    if output_format == "json":
        print(view.render_json(result))
    else:
        print(view.problem_lines(result), end="")
        console.info(view.summary(result))
    if result.problems:
        raise typer.Exit(1)
