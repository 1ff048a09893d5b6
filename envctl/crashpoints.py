"""Test-only hooks that kill or stall envctl at named points, to prove crash safety.

Why in the product: a SIGKILL at an exact step (mid-upload, between upload and pointer
switch, inside the state write) cannot be timed from outside reliably. The hooks do nothing
unless these variables are set, which only the test suite does:

* ``ENVCTL_TEST_CRASH_AT=<point>[:<n>]`` - SIGKILL this process the ``n``-th time (default
  1st) ``point`` is reached;
* ``ENVCTL_TEST_DELAY_AT=<point>:<seconds>`` - sleep there (e.g. to hold the lease).

Points: ``build`` (archive packed, not yet in the cache), ``built`` (before upload),
``upload`` (after each uploaded chunk), ``uploaded`` (verified, pointer not switched) and
``state-write`` (index bytes staged, not yet in place).
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Callable, Optional

Progress = Callable[[int], None]

CRASH_VAR = "ENVCTL_TEST_CRASH_AT"
DELAY_VAR = "ENVCTL_TEST_DELAY_AT"
POINTS = ("build", "built", "upload", "uploaded", "state-write")

_hits: Counter[str] = Counter()


def _parse(value: str) -> tuple[str, str]:
    point, _, arg = value.partition(":")
    return point.strip(), arg.strip()


def reach(point: str) -> None:
    """Mark ``point`` as reached; kills or stalls only when the test variables ask for it."""
    crash, delay = os.environ.get(CRASH_VAR), os.environ.get(DELAY_VAR)
    if not crash and not delay:
        return
    _hits[point] += 1
    if crash:
        wanted, nth = _parse(crash)
        if wanted == point and _hits[point] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
    if delay:
        wanted, seconds = _parse(delay)
        if wanted == point:
            time.sleep(float(seconds or 1))


def watch_progress(point: str, progress: Optional[Progress]) -> Optional[Progress]:
    """``progress`` that also reaches ``point`` per chunk (unchanged when no hook is set)."""
    if not os.environ.get(CRASH_VAR) and not os.environ.get(DELAY_VAR):
        return progress

    def hooked(n: int) -> None:
        if progress is not None:
            progress(n)
        reach(point)

    return hooked
