"""``envctl rollback`` and ``envctl force-unlock``: operator fixes on the target."""

from __future__ import annotations

from typing import Optional

import typer

from envctl import console
from envctl.cli.app import command, lock_timeout_option, options, target_option
from envctl.deploy.functions import reconcile
from envctl.deploy.lease import force_unlock, held
from envctl.deploy.observe import observe, write_state
from envctl.errors import EnvctlError
from envctl.settings import parse_duration
from envctl.targets import open_target


@command("rollback")
def rollback_command(
    name: str = typer.Argument(..., metavar="NAME", help="The environment to roll back."),
    to: Optional[str] = typer.Option(
        None,
        "--to",
        metavar="VERSION",
        help=("Version (v3, 3 or a sha256 prefix); default: the previous one."),
    ),
    lock_timeout: str = lock_timeout_option(),
    target: Optional[str] = target_option(),
) -> None:
    """Point an environment back at an earlier version, without rebuilding."""
    project = options.project()
    tgt = open_target(target, project)
    with held(tgt, "rollback", timeout=parse_duration(lock_timeout, "--lock-timeout")) as lease:
        observed = observe(tgt)
        if name not in observed.state.environments:
            raise EnvctlError(f"environment {name!r} is not deployed to {tgt.url}")
        env = observed.state.env(name)
        chosen = env.lookup(to) if to else env.previous()
        if chosen is None:
            raise EnvctlError(
                f"environment {name!r} has no version before v{env.current} to roll back to"
            )
        if chosen.version == env.current:
            console.info(f"{name} is already at {chosen.label}; nothing to do.")
            return
        info = observed.objects.get(chosen.resource)
        if info is None or info.size != chosen.size:
            raise EnvctlError(
                f"cannot roll back {name} to {chosen.label}: its archive {chosen.resource} "
                f"is missing or changed in {tgt.url}"
            )
        lease.check(f"switching the pointer of {name!r}; nothing was changed")
        state = write_state(tgt, observed.state.with_current(name, chosen.version))
        specs = project.environments() if project.environments_dir.is_dir() else {}
        environments = {n: e for n, e in specs.items() if n == name}
        for line in reconcile(tgt, project.root, environments, state):  # functions follow it
            console.info(f"{name}: {line}")
    console.info(f"{name}: v{env.current} -> {chosen.label} ({chosen.resource}).")
    console.info(
        "Note: git still declares the newer lock; "
        "the next apply moves it forward unless you revert the lock."
    )


@command("force-unlock")
def force_unlock_command(
    lease_id: str = typer.Argument(
        ..., metavar="LEASE_ID", help="The lease ID shown in the 'locked by' message."
    ),
    target: Optional[str] = target_option(),
) -> None:
    """Break a target lease left behind by a crashed or killed apply."""
    project = options.project()
    holder = force_unlock(open_target(target, project), lease_id)
    console.info(f"Released lease {holder.id} held by {holder.owner}.")
