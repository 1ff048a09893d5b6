"""``envctl`` command line: one module per command group, joined on one typer app."""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Optional, Sequence

from envctl.errors import EnvctlError

COMMAND_MODULES = (
    "validate_cmd",
    "build_cmd",
    "controller_cmd",
    "emulator_cmd",
    "exec_cmd",
    "targets_cmd",
    "adopt_cmd",
    "sbom_cmd",
    "cache_cmd",
)


def _load_commands() -> None:
    for module in COMMAND_MODULES:
        try:
            importlib.import_module(f"envctl.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"envctl.cli.{module}":
                raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI and return its exit code; expected failures are one line, never a traceback."""
    from envctl import console
    from envctl.cli.app import app

    _load_commands()
    try:
        app(args=list(argv) if argv is not None else None, prog_name="envctl")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except EnvctlError as exc:
        console.err_console.print(f"envctl: error: {console.redact(exc.message)}", markup=False, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        console.err_console.print("envctl: interrupted", markup=False)
        return 130
    except Exception as exc:  # a bug: say so in one line, details only with -v
        if console.verbosity() >= 1:  # redacted too: exception texts can carry index URLs
            console.err_console.print(console.redact(traceback.format_exc()), markup=False, end="")
        message = console.redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
        console.err_console.print(f"envctl: internal error: {message} (run with -v for details)", markup=False)
        return 1
    return 0


def run() -> None:
    sys.exit(main())
