"""What every benchmark prints first: the machine it ran on, so numbers can be judged.

Absolute seconds on a shared 2-core runner mean little; every benchmark therefore measures
its competitor in the same run and prints ratios, preceded by :func:`machine_line` (cores,
load average before the run, Python, platform). :func:`per_call` is the shared best-of-3 timer.
Import it from a script run as ``python benchmarks/<name>.py`` (the script's directory is on
``sys.path``).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Callable


def machine_line() -> str:
    """``machine: 2 cores, load 7.41 6.90 6.12, CPython 3.11.9, Linux x86_64``."""
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - no load average on this platform
        load = "n/a"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    core_text = f"{cores} cores" if usable == cores else f"{usable} of {cores} cores"
    system = f"{platform.system()} {platform.machine()}"
    return f"machine: {core_text}, load {load} (1/5/15 min), {python}, {system}"


def print_machine() -> None:
    """Print the machine line (flushed, so it precedes a subprocess's output)."""
    print(machine_line(), flush=True)


def ratio(ours: float, theirs: float) -> str:
    """``2.3x faster`` / ``1.4x slower``: how ``ours`` compares with ``theirs`` (seconds)."""
    if ours <= 0 or theirs <= 0:
        return "n/a"
    return f"{theirs / ours:.2f}x faster" if ours <= theirs else f"{ours / theirs:.2f}x slower"


def per_call(fn: Callable[[], object], repeat: int) -> float:
    """Best-of-3 mean seconds per call."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


if __name__ == "__main__":
    sys.exit(print_machine())
