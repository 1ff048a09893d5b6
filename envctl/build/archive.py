"""Reproducible ``.tar.gz`` archives: the same tree always gives the same bytes.

Entries are sorted; owner is uid/gid 0 with empty names; modes are normalised (0755 for
directories and executables, 0644 otherwise); every mtime is ``SOURCE_DATE_EPOCH`` (default
0); the gzip header has mtime 0 and no file name. The sha256 of the bytes is the archive's
identity. gzip level 6 is the default because gzip dominates the build time of large
environments: on the seed environment (jieba, cloudpickle, pandas; a 144 MB tar) level 6 gives
48.1 MB in 3.8 s, level 9 47.8 MB in 12.0 s and level 1 54.4 MB in 1.4 s; compression runs on
every core (``envctl.build.pgzip``) without changing the bytes.

``extract_archive`` is the way back, for archives that may come from a shared target: it
refuses any entry that could write outside the destination.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Optional, Sequence, Union, cast

from envctl import settings
from envctl.build.pgzip import BLOCK_SIZE, ParallelGzipWriter
from envctl.build.size import UnpackBudget, human
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest, write_json_atomic
from envctl.progress import step

DEFAULT_COMPRESSLEVEL = 6


@dataclass(frozen=True)
class ArchiveInfo:
    sha256: str
    md5: str
    size: int


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) or 0."""
    return settings.SOURCE_DATE_EPOCH.get()


class TreeClash(EnvctlError):
    """Two merged trees hold the same file (``arcname``); ``roots[index]`` is the later one."""

    def __init__(self, arcname: str, index: int, other: int) -> None:
        super().__init__(f"{arcname} is in two trees")
        self.arcname, self.index, self.other = arcname, index, other


def _entries(roots: Sequence[Path], include: str) -> list[tuple[str, Path]]:
    """``(arcname, path)`` of every path under each ``root/include``, as if the trees were one.

    Ordered by path components (parents first). A directory may be in several trees (its
    entry is the same whichever is used); a file in two trees raises ``TreeClash``.
    """
    merged: dict[str, tuple[Path, int]] = {}
    for index, root in enumerate(roots):
        for path in [root / include, *(root / include).rglob("*")]:
            _merge(merged, root, path, index)
    return _ordered(merged)


def _merge(merged: dict[str, tuple[Path, int]], root: Path, path: Path, index: int) -> None:
    """Add ``path`` of ``roots[index]`` to ``merged`` (arcname -> first path, its tree).

    A directory already there is kept (the same entry whichever tree gives it); any other
    second arrival raises ``TreeClash``.
    """
    arcname = path.relative_to(root).as_posix()
    seen = merged.get(arcname)
    if seen is None:
        merged[arcname] = (path, index)
    elif not (path.is_dir() and not path.is_symlink() and seen[0].is_dir()):
        raise TreeClash(arcname, index, seen[1])


def _ordered(merged: dict[str, tuple[Path, int]]) -> list[tuple[str, Path]]:
    """``(arcname, path)`` of ``merged``, ordered by path components (parents first)."""
    return sorted(
        ((name, found[0]) for name, found in merged.items()), key=lambda e: e[0].split("/")
    )


def _info(path: Path, arcname: str, mtime: int) -> tarfile.TarInfo:
    st = path.lstat()
    info = tarfile.TarInfo(arcname)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISDIR(st.st_mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, os.readlink(path)
    else:
        info.type, info.size = tarfile.REGTYPE, st.st_size
        info.mode = 0o755 if st.st_mode & 0o111 else 0o644
    return info


SEGMENT_FORMAT = "envctl-segment-1"
"""Part of every segment key: changing how segments are cut or compressed must change it."""


@dataclass(frozen=True)
class _Segment:
    key: Optional[str]  # None: never cached
    entries: list[tuple[str, Path]]


def _segments(
    entries: list[tuple[str, Path]],
    roots: Sequence[Path],
    owners: Sequence[str],
    include: str,
    salt: str,
) -> list[_Segment]:
    """Cut the sorted entries where the set of trees providing a top-level name changes.

    A segment's bytes are then a function of its key: the ids of the trees it comes from
    (wheel hashes), its top-level names and ``salt`` (format, level, block size, mtime).
    """
    providers: dict[str, set[int]] = {}
    for index, root in enumerate(roots):
        for name in os.listdir(root / include):
            providers.setdefault(name, set()).add(index)
    cut: list[tuple[Optional[frozenset[int]], list[str], list[tuple[str, Path]]]] = []
    for arcname, path in entries:
        parts = arcname.split("/", 2)
        group = frozenset(providers[parts[1]]) if len(parts) > 1 else None
        if not cut or cut[-1][0] != group:
            cut.append((group, [], []))
        if len(parts) == 2:
            cut[-1][1].append(parts[1])
        cut[-1][2].append((arcname, path))
    segments = []
    for group, tops, members in cut:
        key = None
        if group is not None:
            ids = sorted(owners[i] for i in group)
            key = hashlib.sha256(json.dumps([salt, ids, tops]).encode()).hexdigest()
        segments.append(_Segment(key, members))
    return segments


class SegmentStore:
    """Compressed segments of earlier archives by key (``<key>.seg`` + ``<key>.json``).

    An entry is used only when its recorded size and sha256 still match, so a damaged
    cache costs a recompression, never a wrong archive.
    """

    def __init__(self, root: Path, *, tmp_dir: Path, tmp_prefix: str) -> None:
        """``tmp_dir``/``tmp_prefix``: where segments are written while an archive is packed
        (somewhere a sweep of killed builds' debris looks)."""
        self.root = root
        self.tmp_dir = tmp_dir
        self.tmp_prefix = tmp_prefix

    def get(self, key: str) -> Optional[tuple[Path, int, int]]:
        """``(path, crc32, uncompressed length)`` of a usable entry."""
        path, meta_path = self.root / f"{key}.seg", self.root / f"{key}.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if (
                path.stat().st_size != meta["size"]
                or file_hexdigest(path, "sha256") != meta["sha256"]
            ):
                return None
            return path, int(meta["crc"]), int(meta["length"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, data: Path, crc: int, length: int) -> None:
        """Keep ``data`` (a finished temporary file, moved) as segment ``key``."""
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {
            "crc": crc,
            "length": length,
            "size": data.stat().st_size,
            "sha256": file_hexdigest(data, "sha256"),
        }
        os.replace(data, self.root / f"{key}.seg")
        write_json_atomic(self.root / f"{key}.json", meta)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


@dataclass(frozen=True)
class LazyTree:
    """A tree that may still be installing: its top-level names (predicted) and a call that
    blocks until it is ready and returns ``(id, root)``; the id fixes its content."""

    tops: frozenset[str]
    ready: Callable[[], tuple[str, Path]]


class Mispredicted(EnvctlError):
    """A tree's top-level names are not the predicted ones; pack after all installs instead."""


def _lazy_segments(
    trees: Sequence[LazyTree], include: str, salt: str, directory: Path
) -> Iterator[_Segment]:
    """The segments ``_segments`` cuts, each produced once the trees it needs are ready
    (``directory``: any directory, standing in for ``include`` itself)."""
    providers: dict[str, set[int]] = {}
    for index, tree in enumerate(trees):
        for name in tree.tops:
            providers.setdefault(name, set()).add(index)
    groups: list[tuple[frozenset[int], list[str]]] = []
    for name in sorted(providers):
        group = frozenset(providers[name])
        if not groups or groups[-1][0] != group:
            groups.append((group, []))
        groups[-1][1].append(name)
    ready: dict[int, tuple[str, Path]] = {}

    def resolve(index: int) -> tuple[str, Path]:
        if index not in ready:
            owner, root = trees[index].ready()
            if frozenset(os.listdir(root / include)) != trees[index].tops:
                raise Mispredicted(f"{root} does not hold the predicted top-level names")
            ready[index] = (owner, root)
        return ready[index]

    yield _Segment(None, [(include, directory)])  # only its type is used, see _info
    for group, tops in groups:
        members = sorted(group)
        roots = [resolve(i)[1] for i in members]
        merged: dict[str, tuple[Path, int]] = {}
        for index, root in zip(members, roots):
            for top in tops:
                start = root / include / top
                if not start.exists() and not start.is_symlink():
                    continue
                below = start.rglob("*") if start.is_dir() and not start.is_symlink() else []
                for path in [start, *below]:
                    _merge(merged, root, path, index)
        entries = _ordered(merged)
        ids = sorted(resolve(i)[0] for i in members)
        yield _Segment(hashlib.sha256(json.dumps([salt, ids, tops]).encode()).hexdigest(), entries)


def write_archive(
    root: Union[Path, Sequence[Path]],
    dest: Path,
    *,
    include: str = "packages",
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    mtime: Optional[int] = None,
    progress: bool = True,
    owners: Optional[Sequence[str]] = None,
    segments: Optional[SegmentStore] = None,
    label: str = "",
) -> ArchiveInfo:
    """Pack ``root/include`` (as ``include/...``) into ``dest`` reproducibly.

    ``root`` may be several trees (one per installed wheel), packed as their union: the
    entries are those of one tree holding all of their files (``TreeClash`` if two hold the
    same file). With ``owners`` (an id per tree that fixes its content, e.g. the wheel's
    hash) the gzip stream is cut into segments at top-level names (each starts with a reset
    dictionary, see ``pgzip``); the bytes depend only on the trees, and with ``segments``
    unchanged segments are copied from earlier archives instead of compressed again, so a
    rebuild after a one-package change costs about that package. ``label`` (an environment
    name) starts the progress line: ``nlp: packing 212.0 MiB``.
    """
    stamp = source_date_epoch() if mtime is None else mtime
    roots = [root] if isinstance(root, Path) else list(root)
    entries = _entries(roots, include)
    if owners is None:
        cut = [_Segment(None, entries)]
    else:
        cut = _segments(entries, roots, owners, include, _salt(compresslevel, stamp, include))
    total = sum(p.lstat().st_size for _, p in entries if p.is_file() and not p.is_symlink())
    return _pack(dest, cut, total, stamp, compresslevel, progress, segments, label)


def write_archive_lazy(
    trees: Sequence[LazyTree],
    dest: Path,
    *,
    total: Optional[int] = None,
    include: str = "packages",
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    mtime: Optional[int] = None,
    progress: bool = True,
    segments: Optional[SegmentStore] = None,
    label: str = "",
) -> ArchiveInfo:
    """``write_archive(roots, owners=ids)`` for trees that may still be installing: the same
    bytes, but each segment is packed as soon as the trees it needs are ready, so packing
    overlaps installing. ``Mispredicted`` when a tree's top-level names are not the
    predicted ones (nothing usable is left in ``dest`` then)."""
    stamp = source_date_epoch() if mtime is None else mtime
    cut = _lazy_segments(trees, include, _salt(compresslevel, stamp, include), dest.parent)
    return _pack(dest, cut, total, stamp, compresslevel, progress, segments, label)


def _salt(compresslevel: int, stamp: int, include: str) -> str:
    return json.dumps([SEGMENT_FORMAT, compresslevel, BLOCK_SIZE, stamp, include])


def _pack(
    dest: Path,
    cut: Iterable[_Segment],
    total: Optional[int],
    stamp: int,
    compresslevel: int,
    progress: bool,
    segments: Optional[SegmentStore],
    label: str = "",
) -> ArchiveInfo:
    """Write the segments' entries as one tar in one gzip member (see ``write_archive``)."""
    finished: list[tuple[str, Path, int, int]] = []
    sinks: list[BinaryIO] = []
    tmp_dir = None
    if segments is not None:
        segments.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix=segments.tmp_prefix, dir=segments.tmp_dir))
    try:
        size = f" {human(total)}" if total else ""
        line = f"{label + ': ' if label else ''}packing{size}"
        with dest.open("wb") as raw, step(line, total or 0, enabled=progress) as advance:
            writer = _HashingWriter(raw)
            with ParallelGzipWriter(cast(BinaryIO, writer), compresslevel) as gz:
                # Write-only streams suffice for mode "w" (tarfile never reads or seeks them).
                stream = cast(BinaryIO, gz)
                with tarfile.open(
                    fileobj=stream, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8"
                ) as tar:
                    for segment in cut:
                        cached = segments.get(segment.key) if segments and segment.key else None
                        if cached is not None:
                            path, crc, length = cached
                            gz.splice(_chunks(path), crc, length)
                            tar.offset += length  # tarfile pads the end by its own count
                            advance(_file_bytes(segment))
                            continue
                        sink = None
                        if tmp_dir is not None and segment.key:
                            sink = (tmp_dir / segment.key).open("wb")
                            sinks.append(sink)
                        gz.segment(sink.write if sink else None)
                        for arcname, path in segment.entries:
                            info = _info(path, arcname, stamp)
                            if info.isreg():
                                with path.open("rb") as data:
                                    tar.addfile(info, data)
                                advance(info.size)
                            else:
                                tar.addfile(info)
                        crc, length = gz.segment()
                        if sink is not None and tmp_dir is not None and segment.key:
                            finished.append((segment.key, tmp_dir / segment.key, crc, length))
        for handle in sinks:
            handle.close()
        if segments is not None:  # only now is every segment's compressed output complete
            for key, path, crc, length in finished:
                segments.put(key, path, crc, length)
    finally:
        for handle in sinks:
            handle.close()
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return ArchiveInfo(writer.sha256.hexdigest(), writer.md5.hexdigest(), writer.size)


def _file_bytes(segment: _Segment) -> int:
    return sum(p.lstat().st_size for _, p in segment.entries if p.is_file() and not p.is_symlink())


def extract_archive(path: Path, dest: Path, budget: Optional[UnpackBudget] = None) -> None:
    """Unpack ``path`` into ``dest``; absolute paths, ``..``, links and devices are refused.

    Everything is checked before anything is written, so a hostile archive leaves ``dest``
    untouched: that includes the members' summed sizes against ``budget`` (a 1 MB archive
    may declare a 1 GiB member). Where the interpreter has tarfile's ``data`` filter it is
    applied as well.
    """
    root = dest.resolve()
    try:
        with tarfile.open(path) as tar:
            members = tar.getmembers()
            for member in members:
                inside = (root / member.name).resolve().is_relative_to(root)
                if not inside or not (member.isreg() or member.isdir()):
                    raise EnvctlError(f"{path.name} contains an unsafe entry {member.name!r}")
            if budget is not None:
                unpacked = sum(m.size for m in members if m.isreg())
                budget.check(path.name, unpacked, path.stat().st_size)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, members=members, filter="data")
            else:  # pragma: no cover - interpreters without the PEP 706 backport
                tar.extractall(root, members=members)  # every member was checked above
    except (tarfile.TarError, EOFError) as exc:
        raise EnvctlError(f"{path} is not a readable archive: {exc}") from None
    except OSError as exc:
        raise EnvctlError(f"cannot unpack {path}: {exc}") from None
