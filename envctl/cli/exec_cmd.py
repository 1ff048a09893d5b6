"""``envctl exec NAME -- CMD...``: try a UDF locally with exactly the cluster's packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

import typer

from envctl import console, settings
from envctl.cli.app import command, options, target_option
from envctl.errors import EnvctlError
from envctl.spec.project import Project
from envctl.udf import local
from envctl.udf.resolution import deployed_version


def _archive(
    project: Project, name: str, source: str, target_url: Optional[str]
) -> tuple[local.LocalArchive, str]:
    """The archive to run with and the target python it was built for."""
    if source in ("auto", "deployed"):
        from envctl.targets import open_target

        target = open_target(target_url, project)
        version = deployed_version(target, name)
        if version is not None:
            return local.fetch_deployed(target, version), version.python
        if source == "deployed":
            raise EnvctlError(
                f"environment {name!r} is not deployed to {target.url}; "
                f"run 'envctl apply --only {name}'"
            )
    spec = project.environments([name])[name]
    built = local.built_archive(project, name)
    if built is None:
        raise EnvctlError(
            f"environment {name!r} has no deployed version and no local build; "
            f"run 'envctl build {name}' first"
        )
    return built, spec.python


@command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def exec_(
    name: str = typer.Argument(..., metavar="NAME", help="Environment name."),
    command: list[str] = typer.Argument(
        ..., metavar="CMD...", help="Command to run (put it after --)."
    ),
    target: Optional[str] = target_option(),
    source: str = typer.Option(
        "auto",
        "--source",
        metavar="auto|deployed|local",
        help=("auto (deployed, else local build), deployed or local."),
    ),
    python: Optional[str] = typer.Option(
        None, "--python", metavar="PATH", help="Interpreter to use instead of discovery."
    ),
    no_cloud_env: bool = typer.Option(
        False,
        "--no-cloud-env",
        help="Do not pass the cloud credentials (ALIBABA_CLOUD_*) on to CMD.",
    ),
) -> None:
    """Run a command isolated with exactly an environment's archive.

    CMD gets this environment, cloud credentials included (UDF code may talk to MaxCompute),
    unless --no-cloud-env. Example: envctl exec nlp -- python examples/seed_udf.py
    """
    if source not in local.SOURCES:
        raise typer.BadParameter(
            f"must be one of {', '.join(local.SOURCES)}", param_hint="--source"
        )
    project = options.project()
    archive, target_python = _archive(project, name, source, target)
    tree = local.unpack(archive)
    interpreter = local.find_interpreter(target_python) if python is None else _explicit(python)
    if interpreter is None:
        console.warn(f"no CPython {target_python} found; running with whatever 'python' is on PATH")
    base = dict(os.environ)  # the command's environment: all of it, minus what is asked away
    for secret in settings.secrets() if no_cloud_env else ():
        base.pop(secret.name, None)
    argv, env = local.command_and_env(
        command, tree, interpreter, base, excluded=local.excluded_packages(project, name)
    )
    env[settings.EXEC.name] = name
    local.collect_exec_cache(now=time.time(), keep=[tree, archive.path])
    console.debug(f"{name}: {archive.origin} unpacked at {tree}")
    try:
        completed = subprocess.run(argv, env=env, check=False)
    except FileNotFoundError:
        raise EnvctlError(f"command not found: {argv[0]}", exit_code=127) from None
    except PermissionError:
        raise EnvctlError(f"command is not executable: {argv[0]}", exit_code=126) from None
    raise typer.Exit(completed.returncode)


def _explicit(python: str) -> Path:
    found = shutil.which(python)
    if not found:
        raise EnvctlError(f"--python {python!r} is not an executable")
    return Path(found)
