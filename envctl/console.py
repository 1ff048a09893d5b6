"""Terminal output: rich consoles (data to stdout, messages to stderr) and secret redaction."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console

from envctl import settings

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

_verbosity = 0

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s:]*(:[^/@\s]*)?)@")
_VAR_PASSWORD = re.compile(r"[^/@\s:]*:(\$\{[A-Za-z_][A-Za-z0-9_]*\})+")
"""``user:${TOKEN}``: a password that is only a variable reference is no secret, so it stays readable."""
_hidden: set[str] = set()
"""Credential values that came from no variable (a pyodps account): redacted like the others."""


def hide(*values: object) -> None:
    """Redact these values from every message from now on (non-strings and short ones ignored)."""
    _hidden.update(v for v in values if isinstance(v, str) and len(v) >= 4)


def configure(*, verbose: int = 0, quiet: bool = False, no_color: bool = False) -> None:
    """Apply the global CLI flags (``NO_COLOR`` is honoured as everywhere else)."""
    global _verbosity
    _verbosity = -1 if quiet else verbose
    colour = not (no_color or settings.NO_COLOR.get())
    for c in (console, err_console):
        c.no_color = not colour
        if not colour:
            c._color_system = None  # rich has no public setter after construction
        c.quiet = False
    if quiet:
        err_console.quiet = True


def verbosity() -> int:
    """-1 quiet, 0 normal, 1+ verbose."""
    return _verbosity


def redact(text: str) -> str:
    """Hide credentials: ``user:pass@`` in URLs and the values of known secret variables."""
    text = _URL_USERINFO.sub(
        lambda m: m.group(0) if _VAR_PASSWORD.fullmatch(m.group("userinfo")) else f"{m.group('scheme')}***@", text
    )
    for secret in settings.secrets():
        value = secret.raw()
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    for value in _hidden:
        text = text.replace(value, "***")
    return text


def info(message: str) -> None:
    """A progress/status line on stderr (hidden by --quiet)."""
    if _verbosity >= 0:
        err_console.print(redact(message))


def debug(message: str) -> None:
    """Detail shown with -v."""
    if _verbosity >= 1:
        err_console.print(f"[dim]{redact(message)}[/dim]")


def warn(message: str) -> None:
    """Warnings are shown even with --quiet."""
    err_console.print(f"[yellow]warning:[/yellow] {redact(message)}", style=None)


def print_json(data: Any) -> None:
    """Machine output on stdout, never styled or wrapped."""
    import json

    print(redact(json.dumps(data, indent=2, sort_keys=True, default=str)))
