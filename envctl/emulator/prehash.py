"""Parts hashed in the background, in the order their names number them, for faster merges.

An emulator speed-up, not a service behaviour: a merge answers the same either way. Clients
number the parts of one upload with a zero-padded running index (pyodps and envctl:
``<name>.part.tmp.<attempt>.<index>``) and merge them in that order. As parts arrive, one
worker thread extends each chain of them, from the part numbered 0 on, as far as the parts
exist; a part that arrives early is hashed once its predecessors have been. A merge whose
parts are exactly such a chain (the same blobs in the same order) takes the chain's md5 instead
of reading 300 MB again at merge time; any other merge hashes its parts itself.
"""

from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

_NUMBERED = re.compile(r"(?P<stem>.*?)(?P<index>\d+)", re.DOTALL)
MAX_CHAINS = 4096
"""Chain ends remembered at most (then all are forgotten: merges just hash their parts)."""
HASH_BUFFER = 4 << 20

PartBlob = Callable[[str, Optional[str], str], Optional[str]]
"""``(project, schema, name)`` -> the blob of that part, None if no such part exists."""
_Key = tuple[str, str, str]


def hash_file_into(digest: Any, path: Path) -> None:
    """Feed the file ``path`` to ``digest`` in ``HASH_BUFFER`` pieces (one buffer, no copies)."""
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as source:
        while count := source.readinto(buffer):
            digest.update(view[:count])


class PartHashes:
    """Running md5s of numbered part chains, keyed by the (lower-cased) name of their last part."""

    def __init__(self, part_blob: PartBlob, blob_path: Callable[[str], Path]) -> None:
        self._part_blob = part_blob
        self._blob_path = blob_path
        self._lock = threading.Lock()
        self._chains: dict[_Key, tuple[tuple[str, ...], Any]] = {}
        self._worker: Optional[ThreadPoolExecutor] = None

    def added(self, project: str, schema: Optional[str], name: str) -> None:
        """A part was published: extend its chain in the background (numbered names only)."""
        match = _NUMBERED.fullmatch(name)
        if match is None:
            return
        with self._lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="envctl-part-md5")
            self._worker.submit(self._extend, project, schema, match["stem"], match["index"])

    def removed(self, project: str, schema: Optional[str], name: str) -> None:
        """A resource was deleted or consumed: forget the chain ending at it."""
        with self._lock:
            self._chains.pop(_key(project, schema, name), None)

    def md5(
        self, project: str, schema: Optional[str], names: Sequence[str], blobs: Sequence[str]
    ) -> Optional[str]:
        """The md5 of ``blobs`` in order if a chain hashed exactly them, else None.

        Waits for the parts already published to be hashed (at most a few behind).
        """
        with self._lock:
            worker = self._worker
        if worker is None or not names:
            return None
        try:
            worker.submit(lambda: None).result()
        except (RuntimeError, CancelledError):  # shutting down: hash at merge time
            return None
        with self._lock:
            chain = self._chains.get(_key(project, schema, names[-1]))
        if chain is None or chain[0] != tuple(blobs):
            return None
        return str(chain[1].hexdigest())

    def clear(self) -> None:
        with self._lock:
            self._chains.clear()

    def close(self) -> None:
        """Stop the worker (queued work is dropped); a later part starts a new one."""
        with self._lock:
            worker, self._worker = self._worker, None
            self._chains.clear()
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)

    def _extend(self, project: str, schema: Optional[str], stem: str, digits: str) -> None:
        """Hash forward from the part ``stem + digits`` while the next numbered part exists."""
        index = int(digits)

        def name(number: int) -> str:
            return f"{stem}{number:0{len(digits)}d}"

        if index == 0:
            blobs: tuple[str, ...] = ()
            digest: Any = hashlib.md5()
        else:
            before = {name(index - 1), f"{stem}{index - 1}"}  # zero-padded or not
            with self._lock:
                found = [self._chains.get(_key(project, schema, n)) for n in sorted(before)]
            previous = next((chain for chain in found if chain is not None), None)
            if previous is None:
                return  # hashed when its predecessors are
            blobs, digest = previous[0], previous[1].copy()
        while (blob := self._part_blob(project, schema, name(index))) is not None:
            key = _key(project, schema, name(index))
            with self._lock:
                known = self._chains.get(key)
            if known is not None and known[0] == (*blobs, blob):
                blobs, digest = known[0], known[1].copy()  # hashed already, by an earlier event
            else:
                try:
                    hash_file_into(digest, self._blob_path(blob))
                except OSError:  # consumed or deleted meanwhile
                    return
                blobs = (*blobs, blob)
                with self._lock:
                    if len(self._chains) >= MAX_CHAINS:
                        self._chains.clear()
                    self._chains[key] = (blobs, digest.copy())
            index += 1


def _key(project: str, schema: Optional[str], name: str) -> _Key:
    return project, schema or "", name.lower()
