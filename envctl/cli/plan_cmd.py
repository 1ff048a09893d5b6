"""``envctl plan``: compare git (specs + locks) with the target.

Exit codes follow Terraform: 0 success (and, with ``--detailed-exitcode``, no changes),
1 error, 2 changes present (``--detailed-exitcode`` only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from envctl import console
from envctl.cli.app import command, format_option, options, target_option
from envctl.cli.views import plan as view
from envctl.deploy.desired import load_desired
from envctl.deploy.functions import with_functions
from envctl.deploy.observe import observe
from envctl.deploy.plan import plan
from envctl.deploy.promote import with_sources
from envctl.targets import open_target

EXIT_CHANGES = 2


@command("plan")
def plan_command(
    target: Optional[str] = target_option(),
    output_format: str = format_option(
        "text", "markdown", "json", help="text, markdown (PR comment) or json."
    ),
    detailed_exitcode: bool = typer.Option(
        False,
        "--detailed-exitcode",
        help="Exit 0 when nothing changes, 2 when something would, 1 on error.",
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", metavar="FILE", help="Save the plan for 'envctl apply FILE'."
    ),
    only: Optional[list[str]] = typer.Option(
        None, "--only", metavar="NAME", help="Limit to this environment (repeatable)."
    ),
) -> None:
    """Show what apply would change on the target, and why."""
    project = options.project()
    desired = load_desired(project)
    tgt = open_target(target, project)
    observed = observe(tgt)
    the_plan = plan(desired.versions, observed, target=tgt.url, only=only or ())
    the_plan = with_sources(project, tgt.url, the_plan, desired.versions)[0]
    the_plan = with_functions(
        the_plan, tgt, project.root, desired.environments, observed.state, only or ()
    )
    view.show(the_plan, output_format)
    if out is not None:
        the_plan.save(out)
        console.info(f"Saved the plan to {out}; apply it with 'envctl apply {out}'.")
    if detailed_exitcode and the_plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)
