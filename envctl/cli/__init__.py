"""``envctl`` command line: one module per command, loaded only when that command runs.

Conventions: a usage error (unknown command or option, missing argument, bad value) is one
line ``envctl: error: ...`` with exit code 2, as in click and pip; any other failure is one
line with exit code 1 (or the command's own code); Ctrl-C is ``envctl: interrupted``, 130.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Optional, Sequence

from envctl.errors import EnvctlError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past typer (which would turn it into a silent exit 130)."""


def _click_error(name: str) -> type[Exception]:
    """``ClickException`` or ``UsageError`` of the click typer runs on (newer typer vendors it)."""
    import typer

    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def _run(argv: Optional[Sequence[str]]) -> int:
    """Run the typer app without its standalone error handling; returns the exit code."""
    import typer.main

    from envctl.cli.app import app

    group = typer.main.get_command(app)
    invoke = group.invoke

    def guarded(ctx: Any) -> Any:
        try:
            return invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted() from None

    group.invoke = guarded  # type: ignore[method-assign]
    args = list(argv) if argv is not None else sys.argv[1:]
    code = group.main(args=args, prog_name="envctl", standalone_mode=False)
    return code if isinstance(code, int) else 0


def _usage_error(exc: Any) -> int:
    """One line for any click usage error; help itself when ``envctl`` runs with no arguments."""
    if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
        print(exc.ctx.get_help())
        return 0
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    if (
        isinstance(exc, _click_error("UsageError"))
        and ctx is not None
        and ctx.command_path != "envctl"
    ):
        message = f"{ctx.command_path.split(' ', 1)[-1]}: {message}"
    _line(f"envctl: error: {' '.join(str(message).split())}")
    return int(getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE)


def _line(text: str) -> None:
    from envctl import console

    console.error_line(text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI and return its exit code; expected failures are one line, never a traceback."""
    args = list(argv) if argv is not None else sys.argv[1:]
    if args == ["--version"]:  # the commonest probe of all needs no command-line framework
        from envctl import __version__

        print(f"envctl {__version__}")
        return 0
    import typer

    try:
        return _run(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except EnvctlError as exc:
        _line(f"envctl: error: {exc.message}")
        return exc.exit_code
    except (KeyboardInterrupt, _Interrupted, typer.Abort):
        _line("envctl: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001  (usage error, or a bug: one line either way)
        if isinstance(exc, _click_error("ClickException")):
            return _usage_error(exc)
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    """A bug: say so in one line, details only with -v."""
    from envctl import console

    if console.verbosity() >= 1:  # redacted too: exception texts can carry index URLs
        print(console.redact(traceback.format_exc()), file=sys.stderr, end="")
    message = f"{type(exc).__name__}: {exc}".splitlines()[0]
    _line(f"envctl: internal error: {message} (run with -v for details)")
    return 1


def run() -> None:
    sys.exit(main())
