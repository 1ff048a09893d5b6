"""Large incompressible files for upload tests and benchmarks, written without holding them in
memory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MIB = 1 << 20


def write_random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` one MiB at a time; return their md5 hex."""
    digest = hashlib.md5()
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            chunk = os.urandom(min(MIB, remaining))
            digest.update(chunk)
            handle.write(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def peak_rss() -> int:
    """This process's peak resident memory in bytes (``VmHWM``).

    Not ``ru_maxrss``: Linux carries that across ``exec``, so a child of a large process
    reports its parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
