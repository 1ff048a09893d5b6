"""``envctl init NAME --from FILE`` and ``envctl adopt ENV RESOURCE``: bring existing work in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from envctl import console, settings
from envctl.cli.app import command, format_option, options
from envctl.errors import EnvctlError


@command("init")
def init_command(
    name: str = typer.Argument(..., help="Name of the new environment (environments/NAME.yaml)."),
    source: Path = typer.Option(
        ...,
        "--from",
        help="A requirements file (with -r/-i/--extra-index-url lines) or a pyproject.toml.",
    ),
    python: str = typer.Option(
        "3.11", "--python", help="Target CPython of the cluster (e.g. 3.7, 3.11)."
    ),
    platform: Optional[str] = typer.Option(
        None, "--platform", help="Target wheel platform (default manylinux2014_x86_64)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing spec of that name."),
) -> None:
    """Write a spec from an existing requirements file or pyproject.toml."""
    from envctl.files import write_text_atomic
    from envctl.spec.importer import read_source, spec_text
    from envctl.spec.loader import load_environments

    project = options.project()
    path = project.spec_path(name)
    if path.exists() and not force:
        raise EnvctlError(f"{path} already exists; pass --force to overwrite it")
    imported = read_source(source)
    for warning in imported.warnings:
        console.warn(warning)
    before = path.read_bytes() if path.exists() else None
    project.environments_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, spec_text(name, python, platform, imported, source.name))
    problems = [p for p in load_environments([project.environments_dir]).problems if p.path == path]
    if problems:  # leave the directory as it was: a spec that does not validate is no help
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
        raise EnvctlError(console.redact(str(problems[0])))
    print(f"wrote {path} ({len(imported.requirements)} requirements); next: envctl lock {name}")


@command("adopt")
def adopt_command(
    name: str = typer.Argument(..., help="Environment (in environments/) the archive belongs to."),
    resource: str = typer.Argument(
        ..., help="Name of the existing archive resource in the target."
    ),
    target: Optional[str] = typer.Option(
        None, "--target", envvar=settings.TARGET.name, help="Target name (envctl.toml) or URL."
    ),
    lock_timeout: str = typer.Option(
        "0s", "--lock-timeout", help="Wait this long for another apply's lease (e.g. 5m)."
    ),
    output_format: str = format_option("text", "json"),
) -> None:
    """Record an existing archive (e.g. from pyodps-pack) as a version of NAME.

    Its sha256 is recorded with a note that no lock built it; the next apply replaces it.
    """
    from envctl.deploy.adopt import adopt
    from envctl.deploy.lease import held
    from envctl.deploy.observe import observe, write_state
    from envctl.targets import open_target

    timeout = settings.parse_duration(lock_timeout, "--lock-timeout")
    project = options.project()
    env = project.environments([name])[name]
    tgt = open_target(target, project)
    with held(tgt, "adopt", timeout=timeout) as lease:
        observed = observe(tgt)
        version = adopt(tgt, observed.state, env, resource, clock=time.time)
        lease.check("recording the adopted archive; nothing was changed")
        write_state(tgt, observed.state.with_version(version))
    if output_format == "json":
        console.print_json(version.to_json())
    else:
        print(
            f"{name}: recorded {resource} as {version.label} (sha256 {version.sha256[:12]}, "
            f"{len(version.packages)} packages; {version.note}); the next apply replaces it"
        )
