"""Large incompressible files for upload tests and benchmarks, written without holding them in memory."""

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
