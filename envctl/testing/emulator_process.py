"""``envctl emulator`` in a process of its own, for tests and benchmarks that must not share
a process (memory, CPU, signals) with the emulator they talk to."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def start_emulator_process(data: Path, *extra: str, stderr: Any = subprocess.DEVNULL) -> "subprocess.Popen[str]":
    """Start the emulator on a free port; its first stdout line is JSON with endpoint and target."""
    return subprocess.Popen(
        [sys.executable, "-m", "envctl", "emulator", "--port", "0", "--data", str(data), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


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
        process.terminate()
        process.wait(timeout=30)
