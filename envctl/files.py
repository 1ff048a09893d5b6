"""Files on disk: atomic writes and chunked digests.

Every file envctl writes that a reader or a later run relies on (locks, cache entries,
downloads, the local target's objects, the emulator's metadata) is written the same way: to a
temporary file in the destination's directory, flushed and fsynced, renamed over the
destination, then the directory is fsynced so the rename itself survives a power cut. A reader
sees the old file or the new one, never half of either; a crash mid-write leaves the old file
intact and at most a hidden temporary beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional

CHUNK = 1 << 20
TEMP_SUFFIX = ".tmp"
_HEX = re.compile(r"[0-9a-f]+")


def file_hexdigest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of ``path``: sha256 is an archive's identity, md5 what MaxCompute reports.

    Read in bounded chunks, since archives can be gigabytes.
    """
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


def fsync_directory(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable (no-op where a directory cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def replace_durably(src: Path, dest: Path) -> None:
    """Rename ``src`` (already fsynced) over ``dest`` and fsync ``dest``'s directory.

    For content written elsewhere first (a spooled upload moved into a store): without the
    directory fsync a power cut can undo the rename while later writes pointing at ``dest``
    survive.
    """
    os.replace(src, dest)
    fsync_directory(dest.parent)


def _publish(tmp: Path, dest: Path, exclusive: bool) -> None:
    if exclusive:
        os.link(tmp, dest)  # fails atomically with FileExistsError when ``dest`` exists
        fsync_directory(dest.parent)
    else:
        replace_durably(tmp, dest)


@contextmanager
def atomic_writer(
    dest: Path, *, exclusive: bool = False, prefix: Optional[str] = None, suffix: str = TEMP_SUFFIX
) -> Iterator[BinaryIO]:
    """An open binary file whose content replaces ``dest`` only if the block succeeds.

    On success: flush, fsync, rename (or, with ``exclusive``, hard-link: FileExistsError when
    ``dest`` exists), fsync the directory. On any exception the temporary is removed and
    ``dest`` is untouched. The temporary is ``<prefix><random><suffix>`` in ``dest``'s directory
    (default prefix ``.<name>.``, so listings that skip dot-files never see it).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=prefix or f".{dest.name}.", suffix=suffix)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _publish(tmp, dest, exclusive)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(dest: Path, *, suffix: str = TEMP_SUFFIX) -> Iterator[Path]:
    """A temporary path beside ``dest`` for writers that want a path (a tar writer, a copy).

    The block creates the file at that path any way it likes; on success it is fsynced and
    renamed over ``dest`` (then the directory is fsynced); on failure it is removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        _publish(tmp, dest, exclusive=False)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(dest: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Replace (or, with ``exclusive``, create) ``dest`` with ``data``, atomically and durably."""
    with atomic_writer(dest, exclusive=exclusive) as handle:
        handle.write(data)


def write_text_atomic(dest: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``dest`` with ``text``, atomically and durably."""
    write_bytes_atomic(dest, text.encode(encoding))


def write_json_atomic(dest: Path, value: Any) -> None:
    """Replace ``dest`` with ``value`` as indented, key-sorted JSON, atomically and durably."""
    write_text_atomic(dest, json.dumps(value, indent=2, sort_keys=True))


@contextmanager
def atomic_directory(dest: Path) -> Iterator[Path]:
    """A fresh directory beside ``dest``, renamed to ``dest`` if the block succeeds.

    For derived trees (an unpacked archive) that are cheap to recreate: the rename is atomic
    and made durable, the files inside are not fsynced one by one. ``dest`` must not exist
    (callers hold a lock and check first); on failure the staging tree is removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        yield staging
        os.replace(staging, dest)
        fsync_directory(dest.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
