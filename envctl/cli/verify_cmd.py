"""``envctl verify``: import every packed module in an interpreter of the target version."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from envctl import console
from envctl.build.builder import build
from envctl.build.verify import NO_INTERPRETER_EXIT, interpreter_candidates, verify_archive
from envctl.cli.app import command, format_option, options
from envctl.cli.inputs import current_lock
from envctl.cli.views import verify as view
from envctl.errors import EnvctlError


def _no_interpreter(name: str, minor: str) -> str:
    looked = ", ".join(str(p) for p in interpreter_candidates(minor)) or "none found"
    return (
        f"no CPython {minor} interpreter found to verify {name!r} "
        f"(set ENVCTL_PYTHON_{minor.replace('.', '_')}, "
        f"put python{minor} on PATH or install it under ~/.pyenv/versions; candidates: {looked})"
    )


@command("verify")
def verify_command(
    name: str = typer.Argument(..., metavar="NAME", help="Environment to verify."),
    python: Optional[Path] = typer.Option(
        None,
        "--python",
        metavar="PATH",
        help=("Interpreter to use (default: discover one of the target version)."),
    ),
    output_format: str = format_option("text", "json", help="text or json (for scripts)."),
) -> None:
    """Import every packed top-level module in a target-version interpreter.

    Exits 1 on failures, 3 when no interpreter of the target version exists (nothing checked).
    """
    project = options.project()
    env = project.environments([name])[name]
    lock = current_lock(project, env)
    built = build(env, lock, progress=True)
    result = verify_archive(
        built.path, lock.python, interpreter=python, excluded=[n for n, _ in lock.excluded]
    )
    if result.interpreter is None:
        message = _no_interpreter(name, ".".join(lock.python.split(".")[:2]))
        if output_format == "json":
            print(view.render_no_interpreter_json(name, message))
            raise typer.Exit(NO_INTERPRETER_EXIT)
        raise EnvctlError(message, exit_code=NO_INTERPRETER_EXIT)
    if output_format == "json":
        print(view.render_json(name, result, built.path))
    else:
        print(view.module_lines(result), end="")
        console.info(view.summary(result))
    if not result.ok:
        raise typer.Exit(1)
