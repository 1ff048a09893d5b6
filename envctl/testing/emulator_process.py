"""``envctl emulator`` in a process of its own, for tests and benchmarks that must not share
a process (memory, CPU, signals) with the emulator they talk to."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

STOP_TIMEOUT = 120.0
"""Seconds a stopped emulator may take to exit before it is killed (generous: loaded machines)."""


def start_emulator_process(
    data: Path,
    *extra: str,
    stderr: Any = subprocess.DEVNULL,
    preexec_fn: Optional[Callable[[], None]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> subprocess.Popen[str]:
    """Start the emulator on a free port; its first stdout line is JSON with endpoint and target.

    ``preexec_fn`` runs in the child before exec (e.g. to start it with a signal ignored);
    ``env`` replaces the child's environment (default: this process's).
    """
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "envctl",
            "emulator",
            "--port",
            "0",
            "--data",
            str(data),
            "--format",
            "json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        preexec_fn=preexec_fn,
        env=env,
    )


def stop_emulator_process(
    process: subprocess.Popen[str], signum: int, timeout: float = STOP_TIMEOUT
) -> tuple[str, Optional[str], bool]:
    """Send ``signum`` and collect stdout/stderr; returns them and whether it exited in time.

    A process still running after ``timeout`` seconds is killed, so it never outlives the caller.
    """
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=timeout)
        return out, err, True
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return out, err, False


@contextmanager
def emulator_process(data: Path, *extra: str) -> Iterator[dict[str, Any]]:
    """A running emulator process; yields its JSON line (``endpoint``, ``target``, ``pid``...)."""
    process = start_emulator_process(data, *extra)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        info.setdefault("pid", process.pid)
        yield info
    finally:
        stop_emulator_process(process, signal.SIGTERM)
