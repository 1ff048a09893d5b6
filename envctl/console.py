"""Terminal output: data to stdout, messages to stderr, secrets redacted, bodies printed literally.

Message bodies are never parsed as rich markup (``install envctl[fast]`` keeps its brackets).
rich is imported only when something is styled for a terminal (``console``/``err_console``),
so a command that prints plain lines does not pay for it at start-up.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any, Optional

from envctl import settings

if TYPE_CHECKING:
    from rich.console import Console

_verbosity = 0
_colour = True
_consoles: dict[bool, Console] = {}

_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s:]*(:[^/@\s]*)?)@"
)
_VAR_PASSWORD = re.compile(r"[^/@\s:]*:(\$\{[A-Za-z_][A-Za-z0-9_]*\})+")
"""``user:${TOKEN}``: a password that is only a variable reference is no secret (shown)."""
_hidden: set[str] = set()
"""Credential values that came from no variable (a pyodps account): redacted like the others."""


def hide(*values: object) -> None:
    """Redact these values from every message from now on (non-strings and short ones ignored)."""
    _hidden.update(v for v in values if isinstance(v, str) and len(v) >= 4)


def _make(stderr: bool) -> Console:
    from rich.console import Console

    made = Console(stderr=stderr, highlight=False, soft_wrap=True, no_color=not _colour)
    if not _colour:
        made._color_system = None  # rich has no public setter after construction
    if stderr and _verbosity < 0:
        made.quiet = True
    return made


def rich_console(stderr: bool = False) -> Console:
    """The rich console for stdout (data) or stderr (messages, bars), created on first use."""
    if stderr not in _consoles:
        _consoles[stderr] = _make(stderr)
    return _consoles[stderr]


def __getattr__(name: str) -> Any:  # PEP 562: ``console.console`` / ``console.err_console``
    if name in ("console", "err_console"):
        return rich_console(stderr=name == "err_console")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def configure(*, verbose: int = 0, quiet: bool = False, no_color: bool = False) -> None:
    """Apply the global CLI flags (``NO_COLOR`` is honoured as everywhere else)."""
    global _verbosity, _colour
    _verbosity = -1 if quiet else verbose
    _colour = not (no_color or settings.NO_COLOR.get())
    _consoles.clear()  # re-created with the new settings on next use


def verbosity() -> int:
    """-1 quiet, 0 normal, 1+ verbose."""
    return _verbosity


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def stderr_is_terminal() -> bool:
    """True when a person is watching stderr (bars and colours are for them only)."""
    return _isatty(sys.stderr)


def redact(text: str) -> str:
    """Hide credentials: ``user:pass@`` in URLs and the values of known secret variables."""
    text = _URL_USERINFO.sub(
        lambda m: (
            m.group(0)
            if _VAR_PASSWORD.fullmatch(m.group("userinfo"))
            else f"{m.group('scheme')}***@"
        ),
        text,
    )
    for secret in settings.secrets():
        value = secret.raw()
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    for value in _hidden:
        text = text.replace(value, "***")
    return text


def _emit(message: str, *, prefix: str = "", style: Optional[str] = None) -> None:
    """One line on stderr: styled through rich on a colour terminal, else written as is."""
    body = redact(message)
    if style is not None and _colour and stderr_is_terminal():
        from rich.text import Text

        text = Text(prefix, style=style) + Text(body, style="" if prefix else style)
        rich_console(stderr=True).print(text)
        return
    print(prefix + body, file=sys.stderr, flush=True)


def print_lines(lines: list[tuple[str, Optional[str]]], *, stderr: bool = False) -> None:
    """``(text, style)`` lines, literally: styled through rich on a colour terminal, else plain."""
    stream = sys.stderr if stderr else sys.stdout
    if stderr and _verbosity < 0:
        return
    if _colour and _isatty(stream) and any(style for _, style in lines):
        from rich.text import Text

        target = rich_console(stderr=stderr)
        for text, style in lines:
            target.print(Text(text, style=style or ""))
        return
    stream.write("".join(text + "\n" for text, _ in lines))
    stream.flush()


def info(message: str) -> None:
    """A progress/status line on stderr (hidden by --quiet); printed literally."""
    if _verbosity >= 0:
        _emit(message)


def debug(message: str) -> None:
    """Detail shown with -v."""
    if _verbosity >= 1:
        _emit(message, style="dim")


def warn(message: str) -> None:
    """Warnings are shown even with --quiet."""
    _emit(message, prefix="warning: ", style="yellow")


def error_line(message: str) -> None:
    """The one line a failing command ends with (``envctl: error: ...``); never styled."""
    print(redact(message), file=sys.stderr, flush=True)


def print_json(data: Any) -> None:
    """Machine output on stdout, never styled or wrapped."""
    import json

    print(redact(json.dumps(data, indent=2, sort_keys=True, default=str)))
