"""Where the time of a lock or build goes: named phases, shown with ``-v``, recordable by callers.

``with phase("download"):`` times a step; the time is printed at ``-v`` (``console.debug``)
and added to every active :func:`recording`, which is how ``benchmarks/`` print a breakdown
(resolution, downloads, install, pack) without parsing output. Phases may repeat (their
times add up) and may run in worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from envctl import console

_lock = threading.Lock()
_recordings: list[dict[str, float]] = []


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Collect ``{phase: seconds}`` of every phase that ends inside this block (any thread)."""
    times: dict[str, float] = {}
    with _lock:
        _recordings.append(times)
    try:
        yield times
    finally:
        with _lock:
            _recordings.remove(times)


def add(name: str, seconds: float) -> None:
    """Record ``seconds`` spent in ``name`` (for phases timed by other means)."""
    with _lock:
        for times in _recordings:
            times[name] = times.get(name, 0.0) + seconds
    console.debug(f"{name}: {seconds:.2f} s")


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as ``name`` (wall clock), also when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - started)
