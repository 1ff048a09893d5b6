"""Short-lived memory of "this reference resolves to that resource", in process and on disk.

Why: decorating thousands of UDFs must cost one target lookup, and a fresh interpreter (a
notebook restart, a job driver) should not repeat it either within a minute. Entries are
small JSON files written atomically; anything unreadable counts as a miss, never an error,
because the target stays the source of truth.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Optional

from envctl import settings
from envctl.files import write_json_atomic


def resolve_ttl() -> float:
    """Seconds a resolution stays valid (``ENVCTL_RESOLVE_TTL``; 0 disables caching)."""
    return settings.RESOLVE_TTL.get()


class ResolutionCache:
    """Key → JSON value with an expiry, kept in a dict and mirrored under ``directory``."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.clock = clock
        self._memory: dict[str, tuple[float, Any]] = {}

    def _path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"

    def get(self, key: str) -> Optional[Any]:
        """The live value for ``key``, or None when absent, expired or unreadable."""
        now = self.clock()
        hit = self._memory.get(key)
        if hit is not None:
            if hit[0] > now:
                return hit[1]
            del self._memory[key]
        try:
            data = json.loads(self._path(key).read_text("utf-8"))
            expires_at, value = float(data["expires_at"]), data["value"]
            if data["key"] != key:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if expires_at <= now:
            return None
        self._memory[key] = (expires_at, value)
        return value

    def put(self, key: str, value: Any, ttl: float) -> None:
        """Remember ``value`` for ``ttl`` seconds (nothing is stored when ttl <= 0)."""
        if ttl <= 0:
            return
        expires_at = self.clock() + ttl
        self._memory[key] = (expires_at, value)
        try:
            write_json_atomic(
                self._path(key), {"key": key, "expires_at": expires_at, "value": value}
            )
        except OSError:
            pass  # a read-only or full cache dir only costs a lookup next time

    def forget(self, key: str) -> None:
        """Drop ``key`` everywhere (after the resource it named turned out to be gone)."""
        self._memory.pop(key, None)
        try:
            self._path(key).unlink()
        except OSError:
            pass

    def clear_memory(self) -> None:
        """Forget the in-process layer only (tests and benchmarks measure the disk layer)."""
        self._memory.clear()
