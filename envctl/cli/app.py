"""The typer application and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from envctl import __version__, console, settings
from envctl.errors import EnvctlError
from envctl.spec.project import Project, find_project

app = typer.Typer(
    name="envctl",
    help="Declarative Python environments for MaxCompute / MaxFrame UDFs: validate, lock, build, plan, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def format_option(*allowed: str, help: str = "") -> Any:
    """``--format`` for a command that can print each of ``allowed`` (the first is the default).

    An unknown value is a one-line error, like every other bad input.
    """

    def check(value: str) -> str:
        if value not in allowed:
            raise EnvctlError(f"--format must be one of {', '.join(allowed)}, not {value!r}")
        return value

    return typer.Option(allowed[0], "--format", help=help or f"{', '.join(allowed)}.", callback=check,
                        metavar="[" + "|".join(allowed) + "]")


class GlobalOptions:
    """Global options, resolved once per invocation."""

    root: Optional[Path] = None

    def project(self) -> Project:
        return find_project(self.root)


options = GlobalOptions()


def _version(value: bool) -> None:
    if value:
        print(f"envctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More detail (repeat for more)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and warnings."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output (NO_COLOR is honoured too)."),
    root: Optional[Path] = typer.Option(
        None, "--root", envvar=settings.ROOT.name, help="Repository root (default: nearest directory with environments/)."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    console.configure(verbose=verbose, quiet=quiet, no_color=no_color)
    options.root = root
