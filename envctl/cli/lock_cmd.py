"""``envctl lock``: resolve each environment for its target into ``pylock.<name>.toml``."""

from __future__ import annotations

from typing import Optional

import typer

from envctl import console
from envctl.build.sdist import record_native_builds
from envctl.cli.app import command, format_option, options
from envctl.cli.inputs import lock_status, previous_lock
from envctl.cli.views import lock as view
from envctl.errors import EnvctlError
from envctl.lock.lockfile import same_lock_text, write_lock
from envctl.lock.relock import Upgrade, changes, locked_versions, relock
from envctl.lock.resolve import RESOLVERS


@command("lock")
def lock_command(
    names: Optional[list[str]] = typer.Argument(
        None, metavar="NAME...", help="Environments to lock (default: all)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Only check that locks exist and are current; exit 1 if not."
    ),
    resolver: Optional[str] = typer.Option(
        None,
        "--resolver",
        metavar="|".join(RESOLVERS),
        help=(
            "Resolver (default, or $ENVCTL_RESOLVER unset: uv with its answer verified "
            "against pip's rules, pip where that fails or without uv; 'pip' always runs pip; "
            "'uv' takes uv's answer unverified for prefer_binary/wheels-only specs)."
        ),
    ),
    upgrade: bool = typer.Option(
        False,
        "--upgrade",
        "-U",
        help="Re-resolve everything to the newest allowed versions "
        "(default: keep every pin that still fits).",
    ),
    upgrade_packages: Optional[list[str]] = typer.Option(
        None,
        "--upgrade-package",
        "-P",
        metavar="NAME",
        help="Let only this package (and what it forces) move; repeatable.",
    ),
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
) -> None:
    """Resolve environments for their target Python and platform into locks.

    Writes environments/pylock.<name>.toml (PEP 751) beside each spec. An existing lock's
    versions are kept wherever they still satisfy the spec and the target.
    """
    if check and (upgrade or upgrade_packages):
        raise EnvctlError("--check cannot be combined with --upgrade or --upgrade-package")
    wanted = Upgrade.of(upgrade, upgrade_packages or ())
    project = options.project()
    rows = []
    for name, env in sorted(project.environments(names or None).items()):
        path = project.lock_path(name)
        if check:
            rows.append(view.check_row(name, path, lock_status(project, env)))
            continue
        console.info(f"locking {name} (CPython {env.python}, {env.platform})")
        previous = previous_lock(path)
        unknown = sorted(wanted.packages - (locked_versions(previous) if previous else {}).keys())
        if unknown and previous is not None:
            console.warn(f"{name}: --upgrade-package {', '.join(unknown)}: not in the current lock")
        lock = record_native_builds(
            env, relock(env, previous, upgrade=wanted, resolver=resolver).lock
        )
        before = path.read_text(encoding="utf-8") if path.is_file() else None
        status = (
            "created"
            if before is None
            else "unchanged"
            if same_lock_text(before, lock)
            else "updated"
        )
        if status != "unchanged":  # a different resolver alone is no change
            write_lock(path, lock)
        rows.append(view.row(name, path, status, lock, changes(previous, lock)))
    bad = [r for r in rows if check and r["status"] != "current"]
    if output_format == "json":
        print(view.render_json(rows, ok=not bad))
    else:
        print(view.render_text(rows, check=check), end="")
    if bad:
        console.info(view.not_current(bad))
        raise typer.Exit(1)
