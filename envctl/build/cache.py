"""The local content-addressed cache: downloads and installed wheels by sha256, archives by lock
hash.

Entries are only ever created by an atomic rename of a fully written and verified temporary
file (``envctl.files``), so a crash or a hash mismatch never leaves a corrupt entry; a per-key
file lock keeps concurrent envctl processes from doing the same work twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from filelock import FileLock

from envctl.spec.project import cache_dir


@dataclass(frozen=True)
class Cache:
    root: Path

    @classmethod
    def default(cls) -> Cache:
        return cls(cache_dir())

    def file_path(self, sha256: str, filename: str) -> Path:
        """Where a downloaded wheel/sdist lives: ``files/ab/<sha256>/<filename>``."""
        return self.root / "files" / sha256[:2] / sha256 / filename

    def built_wheel_dir(self, sdist_sha256: str) -> Path:
        """Wheels built from an sdist, keyed by the sdist's hash."""
        return self.root / "built" / sdist_sha256[:2] / sdist_sha256

    def installed_dir(self, wheel_sha256: str) -> Path:
        """A wheel installed on its own (``packages/``, ``_not_packed/``), by the wheel's hash.

        Why: archives are packed from these trees, so a lock that changes one package installs
        only that package again.
        """
        return self.root / "installed" / wheel_sha256[:2] / wheel_sha256

    def native_wheel_dir(self, key: str) -> Path:
        """A wheel compiled from an sdist, keyed by sdist hash, target and toolchain."""
        return self.root / "native" / key[:2] / key

    @property
    def segments_dir(self) -> Path:
        """Compressed stretches of earlier archives, reused when packing (``SegmentStore``)."""
        return self.root / "segments"

    def archive_path(self, lock_hash: str) -> Path:
        return self.root / "archives" / f"{lock_hash}.tar.gz"

    def archive_meta_path(self, lock_hash: str) -> Path:
        return self.root / "archives" / f"{lock_hash}.json"

    def lock_path(self, inputs_hash: str) -> Path:
        """Locks of ad-hoc requirement sets (no repository to keep them in)."""
        return self.root / "locks" / f"pylock.{inputs_hash}.toml"

    @property
    def tmp_dir(self) -> Path:
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def filelock(self, key: str) -> FileLock:
        path = self.root / "filelocks" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path))

    def read_json(self, path: Path) -> Optional[dict[str, Any]]:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None
