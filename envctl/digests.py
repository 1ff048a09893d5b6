"""Digests of files on disk, read in bounded chunks (archives can be gigabytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def file_hexdigest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of ``path``: sha256 is an archive's identity, md5 what MaxCompute reports."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
