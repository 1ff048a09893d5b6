"""``envctl apply``: build what changed, upload, verify, switch pointers, under the lease."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

from envctl import console
from envctl.build.cache import Cache
from envctl.cli.app import command, format_option, lock_timeout_option, options, target_option
from envctl.cli.views import apply as view
from envctl.cli.views import plan as plan_view
from envctl.deploy.apply import Applier, ApplyResult, BuildFn, Built, Outcome, check_fresh
from envctl.deploy.desired import Desired, git_commit, load_desired
from envctl.deploy.functions import reconcile, with_functions
from envctl.deploy.lease import HeldLease, held
from envctl.deploy.observe import observe
from envctl.deploy.plan import Plan, plan
from envctl.deploy.promote import copying_build, with_sources
from envctl.deploy.state import Observed
from envctl.errors import EnvctlError
from envctl.lock.lockfile import Lock
from envctl.settings import parse_duration
from envctl.spec.loader import Environment
from envctl.targets import Target, open_target


def confirm() -> None:
    """Ask before changing a target; without a terminal, refuse rather than guess."""
    if not sys.stdin.isatty():
        raise EnvctlError("apply needs confirmation: run it in a terminal or pass --auto-approve")
    if not typer.confirm("Apply these changes?", default=False, err=True):
        raise EnvctlError("apply cancelled; nothing was changed")


@command("apply")
def apply_command(
    plan_file: Optional[Path] = typer.Argument(
        None, metavar="PLAN_FILE", help=("A plan saved with 'envctl plan -o'. Default: plan now.")
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    prune: bool = typer.Option(
        False, "--prune", help="Also delete environments no longer in environments/."
    ),
    only: Optional[list[str]] = typer.Option(
        None, "--only", metavar="NAME", help="Limit to this environment (repeatable)."
    ),
    lock_timeout: str = lock_timeout_option("another apply's"),
    target: Optional[str] = target_option(),
    output_format: str = format_option("text", "json"),
) -> None:
    """Build what changed, upload it, verify it, then switch pointers."""
    timeout = parse_duration(lock_timeout, "--lock-timeout")
    saved = Plan.load(plan_file) if plan_file is not None else None
    if saved is not None and only:
        raise EnvctlError(
            "--only cannot be combined with a saved plan (the plan already fixes the environments)"
        )
    project = options.project()
    desired = load_desired(project)
    tgt = open_target(target, project)
    started = time.monotonic()
    with held(tgt, "apply", timeout=timeout) as lease:
        observed = observe(tgt)
        if saved is not None:
            check_fresh(saved, tgt, observed, desired.versions)
        fresh = saved or plan(desired.versions, observed, target=tgt.url, only=only or ())
        the_plan, sources = with_sources(project, tgt.url, fresh, desired.versions)
        if saved is None:
            the_plan = with_functions(
                the_plan, tgt, project.root, desired.environments, observed.state, only or ()
            )
        the_plan = saved or the_plan
        if saved is None and output_format == "text":
            console.print_lines(plan_view.styled_lines(the_plan), stderr=True)
        if the_plan.has_changes and saved is None and not auto_approve:
            confirm()
        builder = copying_build(sources, Cache.default(), fallback=_build)
        result = execute(
            the_plan, tgt, desired, observed, lease, builder, git_commit(project.root), prune
        )
        if the_plan.has_changes:
            lease.check("registering SQL functions (the environments are applied)")
            state = observe(tgt).state
            chosen, pruning = (set(only) if only else None), prune and not only
            for line in reconcile(
                tgt, project.root, desired.environments, state, only=chosen, prune=pruning
            ):
                result.outcomes.append(Outcome(line.split()[2].rstrip(":"), "function", line))
    report(result, output_format, time.monotonic() - started, the_plan.has_changes)


def _build(env: Environment, lock: Lock) -> Built:
    from envctl.build.builder import build

    return build(env, lock, progress=True)


def execute(
    the_plan: Plan,
    tgt: Target,
    desired: Desired,
    observed: Observed,
    lease: HeldLease,
    build: BuildFn,
    commit: Optional[str],
    prune: bool,
) -> ApplyResult:
    """Run ``the_plan`` under ``lease`` (nothing when it has no changes)."""
    if not the_plan.has_changes:
        return ApplyResult()
    applier = Applier(tgt, desired, build, observed.state, dict(observed.objects), commit=commit,
                      progress=True, guard=lease.check)  # fmt: skip
    return applier.run(the_plan, prune=prune)


def report(result: ApplyResult, output_format: str, elapsed: float, changed: bool) -> None:
    if output_format == "json":
        print(view.render_json(result))
    elif changed:
        console.info(view.render_text(result, elapsed).rstrip("\n"))
