"""``plan`` / ``apply`` / ``status`` / ``rollback`` / ``gc`` / ``force-unlock``: the GitOps loop.

Exit codes follow Terraform: 0 success (and, with ``plan --detailed-exitcode``, no changes),
1 error, 2 changes present (``plan --detailed-exitcode`` only).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.table import Table

from envctl import console, settings
from envctl.deploy.apply import (
    Applier, ApplyResult, Outcome, ProgressFactory, check_fresh, git_commit,
)  # fmt: skip
from envctl.cli.app import app, format_option, options
from envctl.deploy.desired import desired_state, load_locks
from envctl.settings import parse_duration
from envctl.errors import EnvctlError
from envctl.deploy.lease import HeldLease, dead_renewals, force_unlock, held
from envctl.deploy.observe import Observed, observe, write_state
from envctl.deploy.plan import Plan, diff_env, plan
from envctl.deploy.functions import reconcile, referenced, with_functions
from envctl.deploy.promote import Source, copying_build, with_sources
from envctl.progress import bytes_progress
from envctl.spec.project import Project
from envctl.cli.views.plan import render_json, render_markdown, render_text
from envctl.deploy.retention import expired_temporaries, select, stale_leftovers
from envctl.deploy.state import PREFIX, RUNTIME_PREFIX
from envctl.targets import Target, open_target
from envctl.targets.base import Progress

EXIT_CHANGES = 2

TARGET_HELP = "Where environments live: local (default), local:///path, file:///path, odps://<project>?endpoint=<url>."
_target_opt = typer.Option(None, "--target", envvar=settings.TARGET.name, help=TARGET_HELP, show_envvar=True)
_only_opt = typer.Option(None, "--only", help="Limit to this environment (repeatable).")


def _desired(project: Project) -> tuple[dict, dict, dict]:
    """Specs, locks and the desired state derived from them (all of the project's envs)."""
    environments = project.environments()
    locks = load_locks(project, environments.values())
    return environments, locks, desired_state(environments, locks)


@contextmanager
def _upload_progress() -> Iterator[Optional[ProgressFactory]]:
    """Upload bars on stderr (shown only on a terminal without --quiet); None when hidden."""
    with bytes_progress() as bar:
        if bar.disable:
            yield None
            return

        def factory(description: str, total: int) -> Progress:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        yield factory


def _show_plan(the_plan: Plan, output_format: str) -> None:
    if output_format == "json":
        print(render_json(the_plan))
    elif output_format == "markdown":
        print(render_markdown(the_plan), end="")
    else:
        render_text(the_plan, console.console)


@app.command("plan")
def plan_command(
    target: Optional[str] = _target_opt,
    output_format: str = format_option("text", "markdown", "json", help="text, markdown (PR comment) or json."),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 when nothing changes, 2 when something would, 1 on error."
    ),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Save the plan for 'envctl apply PLAN_FILE'."),
    only: Optional[List[str]] = _only_opt,
) -> None:
    """Compare git (specs + locks) with the target and show what apply would change, and why."""
    project = options.project()
    environments, _, desired = _desired(project)
    tgt = open_target(target, project)
    observed = observe(tgt)
    the_plan = plan(desired, observed, target=tgt.url, only=only or ())
    the_plan = with_sources(project, tgt.url, the_plan, desired)[0]
    the_plan = with_functions(the_plan, tgt, project.root, environments, observed.state, only or ())
    _show_plan(the_plan, output_format)
    if out is not None:
        the_plan.save(out)
        console.info(f"Saved the plan to {out}; apply it with 'envctl apply {out}'.")
    if detailed_exitcode and the_plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def _confirm(the_plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise EnvctlError("apply needs confirmation: run it in a terminal or pass --auto-approve")
    if not typer.confirm("Apply these changes?", default=False, err=True):
        raise EnvctlError("apply cancelled; nothing was changed")


def _report(result: ApplyResult, output_format: str, elapsed: float) -> None:
    if output_format == "json":
        console.print_json({"changed": result.changed, "outcomes": [vars(o) for o in result.outcomes]})
        return
    for outcome in result.outcomes:
        console.info(f"  {outcome.environment}: {outcome.detail}")
    done = sum(1 for o in result.outcomes if o.action != "skipped")
    console.info(f"Apply complete: {done} environment(s) changed in {elapsed:.1f}s.")


@app.command("apply")
def apply_command(
    plan_file: Optional[Path] = typer.Argument(None, help="A plan saved with 'envctl plan -o'. Default: plan now."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    prune: bool = typer.Option(False, "--prune", help="Also delete environments no longer in environments/."),
    only: Optional[List[str]] = _only_opt,
    lock_timeout: str = typer.Option("0s", "--lock-timeout", help="Wait this long for another apply's lease (e.g. 5m)."),
    target: Optional[str] = _target_opt,
    output_format: str = format_option("text", "json"),
) -> None:
    """Build what changed, upload it, verify it, then switch the environments' current pointers."""
    timeout = parse_duration(lock_timeout, "--lock-timeout")
    saved = Plan.load(plan_file) if plan_file is not None else None
    if saved is not None and only:
        raise EnvctlError("--only cannot be combined with a saved plan (the plan already fixes the environments)")
    project = options.project()
    environments, locks, desired = _desired(project)
    tgt = open_target(target, project)
    started = time.monotonic()
    with held(tgt, "apply", timeout=timeout) as lease:
        observed = observe(tgt)
        if saved is not None:
            check_fresh(saved, tgt, observed, desired)
            the_plan, sources = saved, with_sources(project, tgt.url, saved, desired)[1]
        else:
            the_plan = plan(desired, observed, target=tgt.url, only=only or ())
            the_plan, sources = with_sources(project, tgt.url, the_plan, desired)
            the_plan = with_functions(
                the_plan, tgt, project.root, environments, observed.state, only or ()
            )
            if output_format == "text":
                render_text(the_plan, console.err_console)
        if not the_plan.has_changes:
            if output_format == "json":
                console.print_json({"changed": False, "outcomes": []})
            return
        if saved is None and not auto_approve:
            _confirm(the_plan)
        result = _execute(the_plan, tgt, observed, environments, locks, project, prune, lease, sources)
        lease.check("registering SQL functions (the environments are applied)")
        state = observe(tgt).state
        chosen = set(only) if only else None
        pruning = prune and not only
        for line in reconcile(tgt, project.root, environments, state, only=chosen, prune=pruning):
            result.outcomes.append(Outcome(line.split()[2].rstrip(":"), "function", line))
    _report(result, output_format, time.monotonic() - started)


def _execute(the_plan: Plan, tgt: Target, observed: Observed, environments: dict, locks: dict,
             project: Project, prune: bool, lease: HeldLease,
             sources: Optional[dict[str, Source]] = None) -> ApplyResult:
    from envctl.build.builder import build
    from envctl.build.cache import Cache

    with _upload_progress() as progress:
        applier = Applier(
            target=tgt,
            environments=environments,
            locks=locks,
            build=copying_build(sources or {}, Cache.default(),
                                lambda env, lock: build(env, lock, progress=progress is not None)),
            state=observed.state,
            objects=dict(observed.objects),
            commit=git_commit(project.root),
            progress=progress,
            guard=lease.check,
        )
        return applier.run(the_plan, prune=prune)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


@app.command("status")
def status_command(
    target: Optional[str] = _target_opt,
    output_format: str = format_option("text", "json"),
) -> None:
    """Each environment's deployed version, size and age, and whether it matches git."""
    project = options.project()
    _, _, desired = _desired(project)
    tgt = open_target(target, project)
    observed = observe(tgt)
    now = time.time()
    rows = []
    for name in sorted(set(desired) | set(observed.state.environments)):
        current = observed.state.env(name).current_version
        want = desired.get(name)
        if want is None:
            sync = "not in environments/ (delete with apply --prune)"
        elif want.lock_problem:
            sync = f"lock {want.lock_problem}"
        else:
            change = diff_env(want, observed)
            sync = "in sync" if change.action == "noop" else "; ".join(change.reasons)
        rows.append(
            {
                "environment": name,
                "version": current.version if current else None,
                "resource": current.resource if current else None,
                "sha256": current.sha256 if current else None,
                "python": current.python if current else None,
                "size": current.size if current else None,
                "created": current.created if current else None,
                "git_commit": current.git_commit if current else None,
                "sbom": current.sbom if current else None,
                "note": current.note if current else None,
                "in_sync": sync == "in sync",
                "sync": sync,
            }
        )
    if output_format == "json":
        console.print_json({"target": tgt.url, "environments": rows})
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("environment", "version", "python", "size", "age", "git"):
        table.add_column(column)
    for row in rows:
        deployed = row["version"] is not None
        table.add_row(
            row["environment"],
            f"v{row['version']}" if deployed else "-",
            row["python"] or "-",
            f"{row['size'] / 1e6:.1f} MB" if deployed else "-",
            _age(now - row["created"]) if deployed else "-",
            "[green]in sync[/green]" if row["in_sync"] else f"[yellow]{row['sync']}[/yellow]",
        )
    console.console.print(f"Target: {console.redact(tgt.url)}", markup=False)
    console.console.print(table)


@app.command("rollback")
def rollback_command(
    name: str = typer.Argument(..., help="The environment to roll back."),
    to: Optional[str] = typer.Option(None, "--to", help="Version (v3, 3 or a sha256 prefix); default: the previous one."),
    lock_timeout: str = typer.Option("0s", "--lock-timeout", help="Wait this long for another operation's lease."),
    target: Optional[str] = _target_opt,
) -> None:
    """Point an environment back at an earlier immutable version, without rebuilding."""
    timeout = parse_duration(lock_timeout, "--lock-timeout")
    project = options.project()
    tgt = open_target(target, project)
    with held(tgt, "rollback", timeout=timeout) as lease:
        observed = observe(tgt)
        if name not in observed.state.environments:
            raise EnvctlError(f"environment {name!r} is not deployed to {tgt.url}")
        env = observed.state.env(name)
        chosen = env.lookup(to) if to else env.previous()
        if chosen is None:
            raise EnvctlError(f"environment {name!r} has no version before v{env.current} to roll back to")
        if chosen.version == env.current:
            console.info(f"{name} is already at {chosen.label}; nothing to do.")
            return
        info = observed.objects.get(chosen.resource)
        if info is None or info.size != chosen.size:
            raise EnvctlError(f"cannot roll back {name} to {chosen.label}: its archive {chosen.resource} is missing or changed in {tgt.url}")
        lease.check(f"switching the pointer of {name!r}; nothing was changed")
        state = write_state(tgt, observed.state.with_current(name, chosen.version))
        specs = project.environments() if project.environments_dir.is_dir() else {}
        environments = {n: e for n, e in specs.items() if n == name}
        for line in reconcile(tgt, project.root, environments, state):  # functions follow it
            console.info(f"{name}: {line}")
    console.info(f"{name}: v{env.current} -> {chosen.label} ({chosen.resource}).")
    console.info("Note: git still declares the newer lock; the next apply moves it forward unless you revert the lock.")


@app.command("gc")
def gc_command(
    keep: int = typer.Option(3, "--keep", min=0, help="Newest versions to keep per environment (the current one is always kept)."),
    grace: str = typer.Option("7d", "--grace", help="Never delete anything younger than this (e.g. 12h, 7d)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be deleted."),
    lock_timeout: str = typer.Option("0s", "--lock-timeout", help="Wait this long for another operation's lease."),
    target: Optional[str] = _target_opt,
    output_format: str = format_option("text", "json"),
) -> None:
    """Delete old versions beyond --keep and older than --grace, orphaned archives and debris of
    killed uploads older than --grace; never a current version."""
    grace_s = parse_duration(grace, "--grace")
    project = options.project()
    tgt = open_target(target, project)
    with held(tgt, "gc", timeout=parse_duration(lock_timeout, "--lock-timeout")) as lease:
        observed = observe(tgt)
        now = time.time()
        doomed = select(observed.state, observed.objects, now=now, keep=keep, grace=grace_s,
                        protected=referenced(tgt))
        temporaries = expired_temporaries(tgt.list(RUNTIME_PREFIX), now) if _has_temp_rules() else []
        names = [*doomed.objects, *temporaries, *dead_renewals(tgt, lease.id)]
        leftovers = stale_leftovers(tgt.leftovers((PREFIX, RUNTIME_PREFIX)), now=now, grace=grace_s)
        versions = {env: [v.label for v in vs] for env, vs in doomed.versions.items()}
        if not dry_run and (names or versions or leftovers):
            lease.check("deleting anything; nothing was deleted")
            if versions:
                trimmed = observed.state
                for env, vs in doomed.versions.items():
                    trimmed = trimmed.without_versions(env, {v.version for v in vs})
                write_state(tgt, trimmed)  # forget versions first, then delete their archives
            for object_name in names:
                tgt.delete(object_name)
            for leftover in leftovers:
                tgt.delete_leftover(leftover)
    if output_format == "json":
        console.print_json({"dry_run": dry_run, "versions": versions, "objects": names, "leftovers": leftovers})
        return
    verb = "Would delete" if dry_run else "Deleted"
    for env, labels in versions.items():
        console.info(f"{verb} {env} {', '.join(labels)}")
    for object_name in names:
        console.info(f"{verb} {object_name}")
    for leftover in leftovers:
        console.info(f"{verb} {leftover} (left by an interrupted upload)")
    if not names and not versions and not leftovers:
        console.info("Nothing to collect.")


def _has_temp_rules() -> bool:
    from envctl.deploy.retention import TEMP_SOURCES

    return bool(TEMP_SOURCES)


@app.command("force-unlock")
def force_unlock_command(
    lease_id: str = typer.Argument(..., help="The lease ID shown in the 'locked by' message."),
    target: Optional[str] = _target_opt,
) -> None:
    """Break a target lease left behind by a crashed or killed apply."""
    project = options.project()
    tgt = open_target(target, project)
    holder = force_unlock(tgt, lease_id)
    console.info(f"Released lease {holder.id} held by {holder.owner}.")

