"""Rich progress bars on stderr, shown only to a person watching a terminal."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from envctl import console


def bytes_progress(enabled: bool = True) -> Progress:
    """A byte-counting bar; disabled when not a TTY, with ``--quiet``, or when ``enabled`` is off."""
    show = enabled and console.err_console.is_terminal and console.verbosity() >= 0
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console.err_console,
        disable=not show,
        transient=True,
    )
