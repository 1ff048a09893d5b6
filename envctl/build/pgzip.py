"""A gzip writer that compresses on every core and still gives byte-identical output.

Compression dominates packing (3.7 s of a 4.4 s pack for the seed environment at level 6).
zlib releases the GIL while deflating, so fixed-size blocks are deflated on a thread pool,
pigz-style: each block is primed with the last 32 KiB of the block before it and ends with a
sync flush, so the result is one ordinary gzip member that any gunzip reads, about as small
as single-threaded zlib (+0.2 %), and its bytes depend only on the input, the level and the
block size — never on the number of threads.

Why not a library: zlib-ng's threaded gzip is faster but compresses worse than zlib at
every level that is faster (it loses to pyodps-pack's archive size), and pgzip/mgzip write
multi-member files with custom headers that not every consumer accepts.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, Optional

BLOCK_SIZE = 4 << 20
"""Fixed: changing it changes archive bytes (and so every archive's identity)."""
WINDOW = 32 << 10
_HEADER = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"  # no name, mtime 0, OS unknown


def _deflate(block: bytes, primer: bytes, level: int, last: bool) -> bytes:
    compressor = (
        zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=primer)
        if primer
        else zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    )
    return compressor.compress(block) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter:
    """Write-only file object producing a gzip stream on ``raw``; ``close()`` writes the trailer.

    At most ``2 * workers`` blocks are in flight, so memory stays bounded whatever the size.
    """

    def __init__(self, raw: BinaryIO, level: int = 6, workers: Optional[int] = None) -> None:
        self.raw = raw
        self.level = level
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="envctl-gzip")
        self._pending: deque[Future[bytes]] = deque()
        self._buffer = bytearray()
        self._primer = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        raw.write(_HEADER)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK_SIZE:
            block = bytes(self._buffer[:BLOCK_SIZE])
            del self._buffer[:BLOCK_SIZE]
            self._submit(block, last=False)
        return len(data)

    def _submit(self, block: bytes, *, last: bool) -> None:
        self._crc = zlib.crc32(block, self._crc)
        self._size += len(block)
        self._pending.append(self._pool.submit(_deflate, block, self._primer, self.level, last))
        self._primer = block[-WINDOW:]
        while len(self._pending) > 2 * self.workers:
            self.raw.write(self._pending.popleft().result())

    def tell(self) -> int:
        """Uncompressed bytes written so far (tarfile asks)."""
        return self._size + len(self._buffer)

    def flush(self) -> None:
        """Blocks are only complete at BLOCK_SIZE boundaries; nothing to do until close."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(bytes(self._buffer), last=True)
            while self._pending:
                self.raw.write(self._pending.popleft().result())
            self.raw.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "ParallelGzipWriter":
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True
            self._pool.shutdown(wait=True, cancel_futures=True)
