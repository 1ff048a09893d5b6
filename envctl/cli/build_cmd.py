"""``envctl lock`` / ``envctl build`` / ``envctl verify``: spec -> lock -> archive -> proof."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from envctl import console, settings
from envctl.build.builder import BuiltArchive, build
from envctl.build.sdist import record_native_builds
from envctl.cli.app import app, format_option, options
from envctl.deploy.stage import stage
from envctl.errors import EnvctlError
from envctl.lock.lockfile import Lock, read_lock, same_lock_text, staleness, write_lock
from envctl.spec.project import Project
from envctl.cli.views import lock_changes as lock_view
from envctl.lock.relock import Upgrade, changes, locked_versions, relock
from envctl.lock.resolve import RESOLVERS
from envctl.targets import open_target
from envctl.build.size import SizeBudget, human, largest_summary
from envctl.spec.loader import Environment
from envctl.build.verify import NO_INTERPRETER_EXIT, interpreter_candidates, verify_archive

def _current_lock(project: Project, env: Environment) -> Lock:
    """The lock of ``env``, refusing a missing, corrupt or stale one with the fix to run."""
    path = project.lock_path(env.name)
    if not path.is_file():
        raise EnvctlError(f"{env.name!r} has no lock file ({path.name}); run 'envctl lock {env.name}'")
    lock = read_lock(path)
    problem = staleness(env, lock)
    if problem:
        raise EnvctlError(f"the lock of {env.name!r} is {problem}; run 'envctl lock {env.name}'")
    return lock


def _previous_lock(path: Path) -> Optional[Lock]:
    """The lock at ``path`` whose pins a re-lock keeps; a missing or unreadable one keeps none."""
    if not path.is_file():
        return None
    try:
        return read_lock(path)
    except EnvctlError as exc:
        console.warn(f"{path.name} cannot be read ({exc.message}); resolving without its pins")
        return None


def _lock_status(project: Project, env: Environment) -> str:
    """'current', 'missing', 'stale (...)' or 'corrupt (...)' — no network involved."""
    path = project.lock_path(env.name)
    if not path.is_file():
        return "missing"
    try:
        return staleness(env, read_lock(path)) or "current"
    except EnvctlError as exc:
        return f"corrupt ({exc.message})"


@app.command("lock")
def lock_command(
    names: Optional[List[str]] = typer.Argument(None, help="Environments to lock (default: all)."),
    check: bool = typer.Option(False, "--check", help="Only check that locks exist and are current; exit 1 if not."),
    resolver: Optional[str] = typer.Option(None, "--resolver", help=f"Resolver: {' or '.join(RESOLVERS)} (default pip, or $ENVCTL_RESOLVER; uv is faster for prefer_binary/wheels-only specs but ignores Requires-Python upper bounds)."),
    upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Re-resolve everything to the newest allowed versions (default: keep every pin that still fits)."),
    upgrade_packages: Optional[List[str]] = typer.Option(None, "--upgrade-package", "-P", metavar="NAME", help="Let only this package (and what it forces) move; repeatable."),
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
) -> None:
    """Resolve environments for their target Python/platform into environments/pylock.<name>.toml.

    An existing lock's versions are kept wherever they still satisfy the spec and the target.
    """
    if check and (upgrade or upgrade_packages):
        raise EnvctlError("--check cannot be combined with --upgrade or --upgrade-package")
    wanted = Upgrade.of(upgrade, upgrade_packages or ())
    project = options.project()
    environments = project.environments(names or None)
    rows = []
    for name, env in sorted(environments.items()):
        path = project.lock_path(name)
        if check:
            rows.append({"environment": name, "lock": str(path), "status": _lock_status(project, env)})
            continue
        console.info(f"locking {name} (CPython {env.python}, {env.platform})")
        previous = _previous_lock(path)
        unknown = sorted(wanted.packages - (locked_versions(previous) if previous else {}).keys())
        if unknown and previous is not None:
            console.warn(f"{name}: --upgrade-package {', '.join(unknown)}: not in the current lock")
        lock = relock(env, previous, upgrade=wanted, resolver=resolver).lock
        lock = record_native_builds(env, lock)
        before = path.read_text(encoding="utf-8") if path.is_file() else None
        changed = not same_lock_text(before, lock)  # a different resolver alone is no change
        if changed:
            write_lock(path, lock)
        rows.append(
            {
                "environment": name,
                "lock": str(path),
                "status": "updated" if changed else "unchanged",
                "python": lock.python,
                "platform": lock.platform,
                "resolver": lock.resolver,
                "packages": [{"name": p.name, "version": p.version, "kind": p.kind} for p in lock.packages],
                "excluded": [{"name": n, "version": v} for n, v in lock.excluded],
                "changes": [{"name": c.name, "before": c.before, "after": c.after} for c in changes(previous, lock)],
            }
        )
    bad = [r for r in rows if check and r["status"] != "current"]
    if output_format == "json":
        console.print_json({"ok": not bad, "environments": rows})
    else:
        for row in rows:
            if check:
                print(f"{row['environment']}: {row['status']}")
            else:
                print(f"{row['environment']}: {row['status']} {Path(row['lock']).name} "
                      f"({len(row['packages'])} packages, CPython {row['python']}, {row['resolver']})")
                for change in row["changes"]:
                    print("  " + lock_view.change_line(change))
    if bad:
        names_text = ", ".join(f"{r['environment']} ({r['status'].split(' (')[0]})" for r in bad)
        console.info(f"locks not current: {names_text}; run 'envctl lock'")
        raise typer.Exit(1)


def _print_built(env: Environment, built: BuiltArchive) -> None:
    origin = "cached" if built.cached else "built"
    print(f"{env.name}: {origin} {built.path}")
    unpacked = f" ({human(built.unpacked)} unpacked)" if built.unpacked else ""
    print(f"  size {human(built.size)}{unpacked}, sha256 {built.sha256}, {len(built.packages)} packages")
    if built.largest:
        print(f"  largest (unpacked): {largest_summary(built.largest)}")


@app.command("build")
def build_command(
    name: str = typer.Argument(..., help="Environment to build."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also copy the archive to this file."),
    max_size_mb: Optional[float] = typer.Option(None, "--max-size-mb", help="Fail above this size (env ENVCTL_MAX_SIZE_MB; default 2048, MaxCompute's limit)."),
    warn_size_mb: Optional[float] = typer.Option(None, "--warn-size-mb", help="Warn above this size (env ENVCTL_WARN_SIZE_MB; default 500)."),
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
    upload: bool = typer.Option(
        False,
        "--upload",
        help="Also upload the archive to the target for a later 'apply' to adopt; touches neither "
        "the state nor the lease, so CI runners may run it in parallel (idempotent).",
    ),
    target: Optional[str] = typer.Option(
        None,
        "--target",
        envvar=settings.TARGET.name,
        show_envvar=True,
        help="With --upload: the target.",
    ),
) -> None:
    """Build the archive of an environment from its lock (reproducible; cached by lock hash)."""
    project = options.project()
    env = project.environments([name])[name]
    lock = _current_lock(project, env)
    budget = SizeBudget.from_settings(warn_mb=warn_size_mb, max_mb=max_size_mb)
    tgt = open_target(target, project) if upload else None  # a bad target fails before building
    built = build(env, lock, progress=True, budget=budget, output=output)
    staged = stage(tgt, name, built) if tgt is not None else None
    if output_format == "json":
        uploaded = {"upload": vars(staged)} if staged else {}
        console.print_json({"environment": name, **built.to_json(), **uploaded})
    else:
        _print_built(env, built)
        if staged:
            how = "uploaded" if staged.uploaded_bytes else "already in the target:"
            print(f"  {how} {staged.resource}")


@app.command("verify")
def verify_command(
    name: str = typer.Argument(..., help="Environment to verify."),
    python: Optional[Path] = typer.Option(None, "--python", help="Interpreter to use (default: discover one of the target version)."),
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
) -> None:
    """Import every packed top-level module in a target-version interpreter; exit 1 on failures.

    Exit code 3 means no interpreter of the target version was found (nothing was checked).
    """
    project = options.project()
    env = project.environments([name])[name]
    lock = _current_lock(project, env)
    built = build(env, lock, progress=True)
    result = verify_archive(built.path, lock.python, interpreter=python, excluded=[n for n, _ in lock.excluded])
    minor = ".".join(lock.python.split(".")[:2])
    if result.interpreter is None:
        looked = ", ".join(str(p) for p in interpreter_candidates(minor)) or "none found"
        message = (f"no CPython {minor} interpreter found to verify {name!r} (set ENVCTL_PYTHON_{minor.replace('.', '_')}, "
                   f"put python{minor} on PATH or install it under ~/.pyenv/versions; candidates: {looked})")
        if output_format == "json":
            console.print_json({"environment": name, "verified": False, "reason": message, "modules": []})
            raise typer.Exit(NO_INTERPRETER_EXIT)
        raise EnvctlError(message, exit_code=NO_INTERPRETER_EXIT)
    if output_format == "json":
        console.print_json(
            {
                "environment": name,
                "verified": result.ok,
                "interpreter": str(result.interpreter),
                "archive": str(built.path),
                "modules": [r.__dict__ for r in result.results],
            }
        )
    else:
        for r in result.results:
            status = "ok  " if r.ok else "skip" if r.skipped else "FAIL"
            detail = "" if r.ok else f": {r.error}" + (" (excluded; provided by the cluster)" if r.skipped else "")
            print(f"{status} {r.module} ({r.distribution}){detail}")
        failed = len(result.failures)
        summary = f"{len(result.results) - failed}/{len(result.results)} modules import in {result.interpreter}"
        console.info(summary if not failed else f"{summary}; {failed} failed")
    if not result.ok:
        raise typer.Exit(1)
