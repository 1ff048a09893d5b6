"""``envctl targets`` and ``envctl promote``: named targets from ``envctl.toml``."""

from __future__ import annotations

import time

import typer

from envctl import console
from envctl.cli.app import app, format_option, options
from envctl.cli.views import targets as view
from envctl.errors import EnvctlError


@app.command("targets")
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


@app.command("promote")
def promote_command(
    name: str = typer.Argument(..., help="Environment to promote."),
    source: str = typer.Option(
        ..., "--from", help="Configured target whose current version is copied."
    ),
    dest: str = typer.Option(..., "--to", help="Configured target (or URL) to deploy it to."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    lock_timeout: str = typer.Option(
        "0s", "--lock-timeout", help="Wait this long for another apply's lease (e.g. 5m)."
    ),
    output_format: str = format_option("text", "json"),
) -> None:
    """Deploy the exact archive SOURCE runs for NAME to DEST (no rebuild).

    Refused unless that version was built from the lock git declares now.
    """
    from envctl.build.cache import Cache
    from envctl.cli.controller_cmd import _confirm, _desired, _report, _upload_progress
    from envctl.cli.views.plan import render_text
    from envctl.deploy.apply import Applier, git_commit
    from envctl.deploy.lease import held
    from envctl.deploy.observe import observe
    from envctl.deploy.plan import plan
    from envctl.deploy.promote import annotate, copying_build, promotion_source
    from envctl.settings import parse_duration
    from envctl.targets import open_target
    from envctl.targets.config import load_config

    timeout = parse_duration(lock_timeout, "--lock-timeout")
    project = options.project()
    environments, locks, desired = _desired(project)
    origin = promotion_source(project, load_config(project), name, source, desired)
    target = open_target(dest, project)
    if target.url == origin.target.url:
        raise EnvctlError(f"--from and --to are the same target ({source})")
    started = time.monotonic()
    with held(target, "promote", timeout=timeout) as lease:
        observed = observe(target)
        the_plan = annotate(plan(desired, observed, target=target.url, only=[name]), {name: origin})
        if output_format == "text":
            render_text(the_plan, console.err_console)
        if not the_plan.has_changes:
            if output_format == "json":
                console.print_json({"changed": False, "outcomes": []})
            return
        if not auto_approve:
            _confirm(the_plan)
        with _upload_progress() as progress:
            applier = Applier(
                target=target,
                environments=environments,
                locks=locks,
                build=copying_build({name: origin}, Cache.default(), None),
                state=observed.state,
                objects=dict(observed.objects),
                commit=origin.version.git_commit or git_commit(project.root),
                progress=progress,
                guard=lease.check,
            )
            result = applier.run(the_plan, prune=False)
    _report(result, output_format, time.monotonic() - started)
