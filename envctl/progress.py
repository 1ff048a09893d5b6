"""Progress of long work on stderr: bars for a person at a terminal, plain lines for CI logs.

A ``step`` is one phase of work (downloading, installing, packing, uploading). On a terminal it
is a transient rich bar; when stderr is not a terminal (a CI log) it is one plain line printed
when the step starts, so an 80-second apply is never silent; with ``--quiet`` it is nothing.
Steps may overlap (packing starts while wheels still install): they share one display.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional

from envctl import console

if TYPE_CHECKING:
    from rich.progress import Progress

Advance = Callable[[int], None]
Unit = Literal["bytes", "items"]

_lock = threading.Lock()
_shared: Optional[Progress] = None
_users = 0


def _ignore(_: int) -> None:
    return None


def bars_shown() -> bool:
    """Bars only for a person watching a terminal, never with ``--quiet``."""
    return console.stderr_is_terminal() and console.verbosity() >= 0


def _display() -> Progress:
    """The one live display of this process (rich allows one at a time)."""
    from rich import progress as rp
    from rich.text import Text

    class Amount(rp.ProgressColumn):
        """Bytes (binary units) for transfers, ``done/total`` for counted items."""

        bytes_column = rp.DownloadColumn(binary_units=True)

        def render(self, task: Any) -> Any:
            if task.fields.get("unit") == "items":
                return Text(f"{int(task.completed)}/{int(task.total or 0)}")
            return self.bytes_column.render(task)

    return rp.Progress(
        rp.TextColumn("{task.description}", markup=False),
        rp.BarColumn(),
        Amount(),
        rp.TimeRemainingColumn(),
        console=console.rich_console(stderr=True),
        transient=True,
    )


@contextmanager
def step(line: str, total: int, *, enabled: bool = True, unit: Unit = "bytes") -> Iterator[Advance]:
    """Report one phase; yields ``advance(n)`` for the bar (a no-op for plain lines).

    ``line`` is the whole message (``nlp: uploading 45.9 MiB``): the bar's description on a
    terminal, the printed line otherwise. ``enabled=False`` keeps library callers silent.
    """
    global _shared, _users
    if not enabled or console.verbosity() < 0:
        yield _ignore
        return
    if not bars_shown():
        console.info(line)
        yield _ignore
        return
    with _lock:
        if _shared is None:
            _shared = _display()
            _shared.start()
        _users += 1
        display = _shared
    task = display.add_task(line, total=total or None, unit=unit)
    try:
        yield lambda n: display.advance(task, n)
    finally:
        display.remove_task(task)
        with _lock:
            _users -= 1
            if _users == 0 and _shared is not None:
                _shared.stop()
                _shared = None
