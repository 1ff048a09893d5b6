"""The one exception type that reaches users as a clean message instead of a traceback."""

from __future__ import annotations


class EnvctlError(Exception):
    """An expected failure caused by input, environment or a remote service.

    The CLI prints ``envctl: error: <message>`` on one line and exits with ``exit_code``;
    anything else escaping a command is a bug and is reported as an internal error.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with control characters escaped and cut to ``limit``: safe inside one error line.

    Why: names from archives, wheels and shared state are input; a newline in one must not
    forge a second line of output.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)[:limit]
