"""``envctl gc``: delete what retention allows (``envctl.deploy.retention.collect``)."""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Optional

import typer

from envctl.cli.app import command, format_option, lock_timeout_option, options, target_option
from envctl.cli.views import gc as view
from envctl.deploy.desired import load_desired
from envctl.deploy.lease import held
from envctl.deploy.retention import collect
from envctl.settings import parse_duration
from envctl.targets import open_target
from envctl.udf.adhoc import expired_temporaries, superseded_pins


@command("gc")
def gc_command(
    keep: int = typer.Option(
        3,
        "--keep",
        min=0,
        metavar="N",
        help=("Newest versions to keep per environment (the current one is always kept)."),
    ),
    grace: str = typer.Option(
        "7d",
        "--grace",
        metavar="DURATION",
        help=("Never delete anything younger than this (e.g. 12h, 7d)."),
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only show what would be deleted (writes nothing)."
    ),
    lock_timeout: str = lock_timeout_option(),
    target: Optional[str] = target_option(),
    output_format: str = format_option("text", "json"),
) -> None:
    """Delete old versions, orphaned archives and upload debris past their grace period.

    Never a current version, nor the version git declares.
    """
    grace_s, timeout = (
        parse_duration(grace, "--grace"),
        parse_duration(lock_timeout, "--lock-timeout"),
    )
    project = options.project()
    declared = load_desired(project).lock_hashes
    tgt = open_target(target, project)
    with nullcontext(None) if dry_run else held(tgt, "gc", timeout=timeout) as lease:
        result = collect(
            tgt,
            lease,
            keep=keep,
            grace=grace_s,
            now=time.time(),
            dry_run=dry_run,
            keep_locks=declared,
            temp_rules=[expired_temporaries, superseded_pins],
        )
    if output_format == "json":
        print(view.render_json(result))
    else:
        from envctl import console

        console.info(view.render_text(result).rstrip("\n"))
