"""The typer application, its lazily loaded commands and the options every command shares.

Start-up cost is paid per command: ``COMMANDS`` names each command's module and one-line
help, so ``envctl --help`` and ``--version`` import no command module, and ``envctl plan``
imports only ``plan_cmd`` and what it needs (not the builder, pyodps or the emulator).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, TypeVar

import typer
from typer.core import TyperGroup

from envctl import __version__, console, settings
from envctl.errors import EnvctlError

if TYPE_CHECKING:
    from envctl.spec.project import Project

F = TypeVar("F", bound=Callable[..., Any])


class CommandEntry(NamedTuple):
    module: str
    """Module under ``envctl.cli`` that registers the command on ``app`` when imported."""
    summary: str
    """The line ``envctl --help`` shows (a test keeps it equal to the docstring's first line)."""


COMMANDS: dict[str, CommandEntry] = {
    "validate": CommandEntry(
        "validate_cmd", "Check environment specs against the schema and each other."
    ),
    "lock": CommandEntry(
        "lock_cmd", "Resolve environments for their target Python and platform into locks."
    ),
    "build": CommandEntry("build_cmd", "Build the archive of an environment from its lock."),
    "verify": CommandEntry(
        "verify_cmd", "Import every packed top-level module in a target-version interpreter."
    ),
    "plan": CommandEntry("plan_cmd", "Show what apply would change on the target, and why."),
    "apply": CommandEntry(
        "apply_cmd", "Build what changed, upload it, verify it, then switch pointers."
    ),
    "status": CommandEntry(
        "status_cmd",
        "Each environment's deployed version, size and age, and whether it matches git.",
    ),
    "rollback": CommandEntry(
        "rollback_cmd", "Point an environment back at an earlier version, without rebuilding."
    ),
    "gc": CommandEntry(
        "gc_cmd",
        "Delete old versions, orphaned archives and upload debris past their grace period.",
    ),
    "force-unlock": CommandEntry(
        "rollback_cmd", "Break a target lease left behind by a crashed or killed apply."
    ),
    "exec": CommandEntry(
        "exec_cmd", "Run a command isolated with exactly an environment's archive."
    ),
    "targets": CommandEntry(
        "targets_cmd", "List the targets of envctl.toml (name, URL, default, credential variables)."
    ),
    "promote": CommandEntry(
        "targets_cmd", "Deploy the exact archive SOURCE runs for NAME to DEST (no rebuild)."
    ),
    "init": CommandEntry(
        "adopt_cmd", "Write a spec from an existing requirements file or pyproject.toml."
    ),
    "adopt": CommandEntry(
        "adopt_cmd", "Record an existing archive (e.g. from pyodps-pack) as a version of NAME."
    ),
    "sbom": CommandEntry(
        "sbom_cmd", "Write a CycloneDX 1.6 JSON SBOM of an environment from its lock."
    ),
    "codeowners": CommandEntry(
        "sbom_cmd", "Print CODEOWNERS lines mapping each spec and lock to its owners."
    ),
    "cache": CommandEntry(
        "cache_cmd", "The local cache (ENVCTL_CACHE_DIR, default ~/.cache/envctl)."
    ),
    "emulator": CommandEntry(
        "emulator_cmd", "Serve a local MaxCompute resource API for pyodps until Ctrl-C."
    ),
}


def _argument_help(param: Any) -> None:
    """``NAME``, ``[NAME]`` or ``[PATH...]`` in usage and help, never a type (``<list[Path]>``)."""
    name = (param.metavar or param.name or "value").upper().rstrip(".")
    shown = name + ("..." if param.nargs != 1 else "")
    record = param.get_help_record

    def get_help_record(ctx: Any) -> Any:
        found = record(ctx)
        return None if found is None else (shown, found[1])

    param.metavar = name
    param.get_usage_pieces = lambda ctx: [shown if param.required else f"[{shown}]"]
    param.get_help_record = get_help_record


def _metavars(command: Any) -> Any:
    """Help shows nothing after a flag and upper-case names elsewhere (``NAME``, ``PATH...``)."""
    for param in command.params:
        if param.param_type_name == "argument":
            _argument_help(param)
        elif not (
            getattr(param, "is_flag", False) or getattr(param, "count", False) or param.metavar
        ):
            param.metavar = (param.name or "value").upper()
    return command


def _group(info: Any) -> Any:
    """A typer sub-app as a click group, its commands' help following ``_metavars``."""
    try:
        made = typer.main.get_group_from_info(
            info, pretty_exceptions_short=True, suggest_commands=True, rich_markup_mode=None
        )
    except TypeError:  # typer releases without suggest_commands
        older: Any = typer.main.get_group_from_info
        made = older(info, pretty_exceptions_short=True, rich_markup_mode=None)
    for sub in made.commands.values():
        _metavars(sub)
    return made


class LazyGroup(TyperGroup):
    """Imports a command's module only when that command runs or shows its own help."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for (
            command
        ) in self.commands.values():  # commands of modules imported earlier in this process
            _metavars(command)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"envctl.cli.{COMMANDS[cmd_name].module}")
            for info in app.registered_commands:
                if info.name == cmd_name:
                    command = typer.main.get_command_from_info(
                        info, pretty_exceptions_short=True, rich_markup_mode=None
                    )
                    self.commands[cmd_name] = _metavars(command)
            for group in app.registered_groups:  # a command with subcommands (envctl cache ...)
                if group.name == cmd_name:
                    self.commands[cmd_name] = _group(group)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from ``COMMANDS``: no command module is imported for ``--help``."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.summary) for name, entry in COMMANDS.items()])


app = typer.Typer(
    name="envctl",
    cls=LazyGroup,
    help="Declarative Python environments for MaxCompute / MaxFrame UDFs: "
    "validate, lock, build, plan, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def command(name: str, **settings: Any) -> Callable[[F], F]:
    """Register a command under its name in ``COMMANDS`` (one line of help per command there)."""
    if name not in COMMANDS:
        raise AssertionError(f"add {name!r} to envctl.cli.app.COMMANDS")
    register: Callable[[F], F] = app.command(name, **settings)
    return register


def format_option(*allowed: str, help: str = "") -> Any:
    """``--format`` for a command that can print each of ``allowed`` (the first is the default).

    An unknown value is a one-line error, like every other bad input.
    """

    def check(value: str) -> str:
        if value not in allowed:
            raise EnvctlError(f"--format must be one of {', '.join(allowed)}, not {value!r}")
        return value

    return typer.Option(
        allowed[0],
        "--format",
        help=help or f"{', '.join(allowed)}.",
        callback=check,
        metavar="|".join(allowed),
    )


TARGET_HELP = "Where environments live: local (default), local:///path, file:///path, odps://<project>?endpoint=<url>."


def target_option() -> Any:
    """``--target URL`` (or ``ENVCTL_TARGET``), shared by every command that reads a target."""
    return typer.Option(
        None,
        "--target",
        envvar=settings.TARGET.name,
        help=TARGET_HELP,
        show_envvar=True,
        metavar="URL",
    )


def lock_timeout_option(what: str = "another operation's") -> Any:
    return typer.Option(
        "0s",
        "--lock-timeout",
        help=f"Wait this long for {what} lease (e.g. 5m).",
        metavar="DURATION",
    )


class GlobalOptions:
    """Global options, resolved once per invocation."""

    root: Optional[Path] = None

    def project(self) -> Project:
        from envctl.spec.project import find_project

        return find_project(self.root)


options = GlobalOptions()


def _version(value: bool) -> None:
    if value:
        print(f"envctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More detail (repeat for more)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and warnings."),
    no_color: bool = typer.Option(
        False, "--no-color", help="Plain output (NO_COLOR is honoured too)."
    ),
    root: Optional[Path] = typer.Option(
        None,
        "--root",
        envvar=settings.ROOT.name,
        metavar="DIR",
        help="Repository root (default: nearest directory with environments/).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    console.configure(verbose=verbose, quiet=quiet, no_color=no_color)
    options.root = root
