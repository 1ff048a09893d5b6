"""Digests of files on disk, read in bounded chunks (archives can be gigabytes)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-f]+")


def file_hexdigest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of ``path``: sha256 is an archive's identity, md5 what MaxCompute reports."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_hex_digest(text: object, algorithm: str = "sha256") -> bool:
    """Whether ``text`` is a lower-case hex digest of ``algorithm``'s exact length.

    Why: digests read from shared storage name cache paths and resources; anything else
    (``../x``, an empty string, a prefix) must never reach a path.
    """
    size = hashlib.new(algorithm).digest_size * 2
    return isinstance(text, str) and len(text) == size and _HEX.fullmatch(text) is not None
