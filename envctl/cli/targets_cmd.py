"""``envctl targets`` and ``envctl promote``: named targets from ``envctl.toml``."""

from __future__ import annotations

import time

import typer

from envctl import console
from envctl.cli.app import command, format_option, lock_timeout_option, options
from envctl.cli.views import targets as view
from envctl.errors import EnvctlError


@command("targets")
def targets_command(
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
) -> None:
    """List the targets of envctl.toml (name, URL, default, credential variables).

    Every problem in the file is shown as path:line:col; exit 1 when there is one.
    """
    from envctl.targets.config import check_config

    config, problems = check_config(options.project())
    rows = view.rows(config)
    if output_format == "json":
        print(view.render_json(rows, problems))
    else:
        print(view.render_text(rows, problems), end="")
    if problems:
        raise typer.Exit(1)


@command("promote")
def promote_command(
    name: str = typer.Argument(..., metavar="NAME", help="Environment to promote."),
    source: str = typer.Option(
        ..., "--from", metavar="SOURCE", help="Configured target whose current version is copied."
    ),
    dest: str = typer.Option(
        ..., "--to", metavar="DEST", help="Configured target (or URL) to deploy it to."
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    lock_timeout: str = lock_timeout_option("another apply's"),
    output_format: str = format_option("text", "json"),
) -> None:
    """Deploy the exact archive SOURCE runs for NAME to DEST (no rebuild).

    Refused unless that version was built from the lock git declares now.
    """
    from envctl.build.cache import Cache
    from envctl.cli.apply_cmd import confirm, execute, report
    from envctl.cli.views.plan import styled_lines
    from envctl.deploy.desired import git_commit, load_desired
    from envctl.deploy.lease import held
    from envctl.deploy.observe import observe
    from envctl.deploy.plan import plan
    from envctl.deploy.promote import annotate, copying_build, promotion_source
    from envctl.settings import parse_duration
    from envctl.targets import open_target
    from envctl.targets.config import load_config

    timeout = parse_duration(lock_timeout, "--lock-timeout")
    project = options.project()
    desired = load_desired(project)
    origin = promotion_source(project, load_config(project), name, source, desired.versions)
    target = open_target(dest, project)
    if target.url == origin.target.url:
        raise EnvctlError(f"--from and --to are the same target ({source})")
    started = time.monotonic()
    with held(target, "promote", timeout=timeout) as lease:
        observed = observe(target)
        the_plan = annotate(
            plan(desired.versions, observed, target=target.url, only=[name]), {name: origin}
        )
        if output_format == "text":
            console.print_lines(styled_lines(the_plan), stderr=True)
        if the_plan.has_changes and not auto_approve:
            confirm()
        copy = copying_build({name: origin}, Cache.default(), None)
        commit = origin.version.git_commit or git_commit(project.root)
        result = execute(the_plan, target, desired, observed, lease, copy, commit, prune=False)
    report(result, output_format, time.monotonic() - started, the_plan.has_changes)
