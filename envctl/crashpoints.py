"""Test-only hooks that kill or park envctl at named points, to prove crash and lease safety.

Why in the product: a SIGKILL at an exact step (mid-upload, between upload and pointer
switch, inside the state write) cannot be timed from outside reliably, and neither can "hold
the lease until the other process is waiting". The hooks do nothing unless these variables
are set, which only the test suite does:

* ``ENVCTL_TEST_CRASH_AT=<point>[:<n>]`` - SIGKILL this process the ``n``-th time (default
  1st) ``point`` is reached;
* ``ENVCTL_TEST_WAIT_AT=<point>:<path>`` - a barrier: each time ``point`` is reached, create
  ``<path>.reached`` (atomically, containing this process's pid) and then block until the
  file ``<path>`` exists, polling every 20 ms. Once ``<path>`` exists, later hits pass at
  once. A barrier never released within ``WAIT_BOUND`` seconds raises
  :class:`BarrierTimeout` (the test that set it has died or forgotten it).

Points: ``build`` (archive packed, not yet in the cache), ``built`` (before upload),
``upload`` (after each uploaded chunk), ``uploaded`` (verified, pointer not switched),
``state-write`` (index bytes staged, not yet in place: the deploy layer names this write of
the local target with :func:`naming`) and ``write`` (any other object
staged by the local target, e.g. a lease renewal).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator, Optional

Progress = Callable[[int], None]

CRASH_VAR = "ENVCTL_TEST_CRASH_AT"
WAIT_VAR = "ENVCTL_TEST_WAIT_AT"
POINTS = ("build", "built", "upload", "uploaded", "state-write", "write")
REACHED_SUFFIX = ".reached"
WAIT_POLL = 0.02
WAIT_BOUND = 600.0
"""Seconds a barrier waits for its release file before failing (generous: loaded machines)."""

_hits: Counter[str] = Counter()


class BarrierTimeout(RuntimeError):
    """A ``ENVCTL_TEST_WAIT_AT`` barrier was not released within ``WAIT_BOUND`` seconds."""


def _parse(value: str) -> tuple[str, str]:
    point, _, arg = value.partition(":")
    return point.strip(), arg.strip()


def _hooked() -> bool:
    return bool(os.environ.get(CRASH_VAR) or os.environ.get(WAIT_VAR))


def reached_path(release: Path) -> Path:
    """The file a process parked at the barrier released by ``release`` creates on arrival."""
    return release.with_name(release.name + REACHED_SUFFIX)


def wait_at_barrier(release: Path, *, bound: float = WAIT_BOUND, poll: float = WAIT_POLL) -> None:
    """Announce arrival in ``<release>.reached`` (atomically), then block until ``release`` exists.

    Raises BarrierTimeout when ``release`` does not appear within ``bound`` seconds.
    """
    marker = reached_path(release)
    fd, tmp = tempfile.mkstemp(dir=marker.parent, prefix=f".{marker.name}.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
        os.replace(tmp, marker)
    finally:
        Path(tmp).unlink(missing_ok=True)
    deadline = time.monotonic() + bound
    while not release.exists():
        if time.monotonic() > deadline:
            raise BarrierTimeout(f"test barrier {release} was not released within {bound:g}s")
        time.sleep(poll)


_naming: ContextVar[Optional[str]] = ContextVar("envctl_crashpoint_naming", default=None)


@contextmanager
def naming(point: str) -> Iterator[None]:
    """Inside this block, a generic point reached through :func:`named` is called ``point``.

    Why: the local target stages every object the same way and must not know which object is
    the deployment index; the deploy layer names the write it makes (``state-write``).
    """
    token = _naming.set(point)
    try:
        yield
    finally:
        _naming.reset(token)


def named(default: str) -> str:
    """The point name set by the enclosing :func:`naming` block, else ``default``."""
    return _naming.get() or default


def reach(point: str) -> None:
    """Mark ``point`` as reached; kills or parks only when the test variables ask for it."""
    crash, wait = os.environ.get(CRASH_VAR), os.environ.get(WAIT_VAR)
    if not crash and not wait:
        return
    _hits[point] += 1
    if crash:
        wanted, nth = _parse(crash)
        if wanted == point and _hits[point] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
    if wait:
        wanted, path = _parse(wait)
        if wanted == point and path:
            wait_at_barrier(Path(path))


def watch_progress(point: str, progress: Optional[Progress]) -> Optional[Progress]:
    """``progress`` that also reaches ``point`` per chunk (unchanged when no hook is set)."""
    if not _hooked():
        return progress

    def hooked(n: int) -> None:
        if progress is not None:
            progress(n)
        reach(point)

    return hooked
