"""``envctl build``: lock -> reproducible archive (cached by lock hash), optionally staged."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from envctl.build.builder import build
from envctl.build.size import SizeBudget, human
from envctl.cli.app import command, format_option, options, target_option
from envctl.cli.inputs import current_lock
from envctl.cli.views import build as view
from envctl.progress import step


@command("build")
def build_command(
    name: str = typer.Argument(..., metavar="NAME", help="Environment to build."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", metavar="FILE", help="Also copy the archive to this file."
    ),
    max_size_mb: Optional[float] = typer.Option(
        None,
        "--max-size-mb",
        metavar="MIB",
        help="Fail above this size (env ENVCTL_MAX_SIZE_MB; default 2048, MaxCompute's limit).",
    ),
    warn_size_mb: Optional[float] = typer.Option(
        None,
        "--warn-size-mb",
        metavar="MIB",
        help="Warn above this size (env ENVCTL_WARN_SIZE_MB; default 500).",
    ),
    upload: bool = typer.Option(
        False,
        "--upload",
        help="Also upload the archive to the target for a later 'apply' to use; touches neither "
        "the state nor the lease, so CI runners may run it in parallel (idempotent).",
    ),
    target: Optional[str] = target_option(),
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
) -> None:
    """Build the archive of an environment from its lock.

    Reproducible, and cached by lock hash: an unchanged lock is not built again.
    """
    project = options.project()
    env = project.environments([name])[name]
    budget = SizeBudget.from_settings(warn_mb=warn_size_mb, max_mb=max_size_mb)
    tgt = None
    if upload:  # a bad target fails before building
        from envctl.targets import open_target

        tgt = open_target(target, project)
    built = build(env, current_lock(project, env), progress=True, budget=budget, output=output)
    staged = None
    if tgt is not None:
        from envctl.deploy.stage import stage

        with step(f"{name}: uploading {human(built.size)}", built.size) as advance:
            staged = stage(tgt, name, built, progress=advance)
    if output_format == "json":
        print(view.render_json(name, built, staged))
    else:
        print(view.render_text(name, built, staged), end="")
