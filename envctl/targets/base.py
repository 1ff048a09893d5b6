"""The one narrow, blob-like interface every deployment target implements.

Why so narrow: the controller, the lease and the runtime decorator need only named immutable
blobs with size/md5, a listing, and an exclusive create. Keeping targets this small is what
lets the local directory store and MaxCompute behave identically under the same tests.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Optional

from envctl.errors import EnvctlError

Kind = Literal["archive", "file", "py"]
Progress = Callable[[int], None]
"""Called with the number of bytes just transferred."""

MD5_BUFFER = 1 << 20


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing tells about one stored object (md5 only when the target knows it cheaply)."""

    name: str
    size: int
    modified: float
    md5: Optional[str] = None
    temp: bool = False


@dataclass(frozen=True)
class FunctionInfo:
    """A registered SQL function: ``CREATE FUNCTION name AS 'class_type' USING 'resources'``."""

    name: str
    class_type: str
    resources: tuple[str, ...]


class TargetError(EnvctlError):
    """Base of target-level failures: specific enough to catch, clean enough to print."""


class ObjectExists(TargetError):
    """An exclusive create found the name taken."""


class ObjectMissing(TargetError):
    """A read of a name that does not exist."""


class TransientError(TargetError):
    """A failure worth retrying (5xx, connection reset); raised after retries are exhausted."""


class Target(ABC):
    """A place resources live. Names are flat; objects are replaced only by ``put_bytes``."""

    #: Human-readable location, never containing credentials.
    url: str

    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """All objects whose name starts with ``prefix`` (paginated internally: one call)."""

    @abstractmethod
    def stat(self, name: str) -> Optional[ObjectInfo]:
        """One object's info including md5, or None when absent."""

    @abstractmethod
    def read(self, name: str) -> bytes:
        """The whole content of a small object (metadata); ObjectMissing when absent."""

    @abstractmethod
    def download(self, name: str, dest: Path, progress: Optional[Progress] = None) -> None:
        """Stream an object (an archive) to a local file, atomically."""

    @abstractmethod
    def put_bytes(self, name: str, data: bytes, *, temp: bool = False) -> None:
        """Create or atomically replace a small ``file`` object."""

    @abstractmethod
    def put_file(
        self,
        name: str,
        path: Path,
        *,
        md5: str,
        kind: Kind = "archive",
        temp: bool = False,
        progress: Optional[Progress] = None,
    ) -> ObjectInfo:
        """Create a new object from a local file, streamed, then check its size and md5.

        Raises ObjectExists when the name is taken and TargetError when verification fails.
        """

    @abstractmethod
    def create_exclusive(self, name: str, data: bytes) -> None:
        """Create a small object only if the name is free (ObjectExists otherwise)."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove an object; deleting a missing one is not an error."""

    def clone(self) -> Target:
        """A handle on the same place for use from another thread (the lease heartbeat).

        Why: a client library may share per-object state between calls (pyodps caches resource
        objects), so two threads must not share one handle. Stateless targets return ``self``.
        """
        return self

    # SQL functions (``functions:`` in specs). Not abstract: a store without functions says so.
    def list_functions(self) -> dict[str, FunctionInfo]:
        """Every registered function by name."""
        raise TargetError(f"{self.url} cannot register SQL functions")

    def put_function(self, function: FunctionInfo) -> None:
        """Create the function, or make an existing one exactly ``function``."""
        raise TargetError(f"{self.url} cannot register SQL functions")

    def delete_function(self, name: str) -> None:
        """Drop a function (a missing one is not an error)."""
        raise TargetError(f"{self.url} cannot register SQL functions")

    def leftovers(self, prefixes: Sequence[str]) -> builtins.list[ObjectInfo]:
        """Debris of uploads killed mid-way (staging files, unmerged parts), whatever their age,
        of objects whose names start with one of ``prefixes`` (the caller's own naming scheme:
        the store may be shared with other tools).

        Why here: only the target knows how its uploads stage data. ``envctl gc`` removes the
        ones older than its grace period (younger ones may belong to an upload still running).
        """
        return []

    def delete_leftover(self, name: str) -> None:
        """Remove one entry ``leftovers`` returned (missing is not an error)."""
        self.delete(name)

    def _count(self, operation: str) -> None:
        self.stats[operation] += 1


_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def hex_md5(value: str) -> str:
    """An md5 as lower-case hex, from hex or from base64 (RFC 1864 ``Content-MD5``).

    Why both: which one the live service sends in ``?meta`` was not measured; pyodps passes
    the header through unchanged. Anything else is a TargetError naming the value.
    """
    text = value.strip()
    if _HEX_MD5.fullmatch(text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise TargetError(f"unrecognised Content-MD5 {value!r} (neither hex nor base64 md5)")
    return raw.hex()


def verify_uploaded(name: str, info: Optional[ObjectInfo], size: int, md5: str) -> ObjectInfo:
    """The check after every upload: the stored object must be exactly the local file.

    ``info.md5`` may be hex or base64; None skips the md5 (the caller checked the content).
    """
    if info is None:
        raise TargetError(f"{name}: upload finished but the object is not there")
    if info.size != size:
        raise TargetError(f"{name}: uploaded size {info.size} does not match local size {size}")
    if info.md5 is not None and hex_md5(info.md5) != md5.lower():
        raise TargetError(f"{name}: uploaded md5 {info.md5} does not match local md5 {md5}")
    return info
