"""On-disk resource store: one JSON metadata file per resource plus immutable content blobs.

Why this layout: a resource is published by atomically replacing its metadata file, which
points at fully written blobs, so a crash never exposes a half-written resource and a
restart with the same directory sees exactly the committed state. Readers hold open
blob handles, so a concurrent replace or delete never tears a download. A resource has one
blob, except a merged one: its content is its parts' blobs, hard-linked and read one after
another, so a merge copies no bytes.

Names resolve case-insensitively (the metadata file is keyed by the lower-cased name) and
keep the spelling they were created with, which listings and ``?meta`` report. MaxCompute
documents object names as case-insensitive; that resources follow it is an assumption (see
the README's emulator table), not a live measurement.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional, Sequence
from urllib.parse import quote, unquote

from envctl.emulator import errors
from envctl.emulator.prehash import PartHashes, hash_file_into
from envctl.files import atomic_writer, fsync_directory, replace_durably, write_bytes_atomic

DEFAULT_SCHEMA = "default"
COPY_BUFFER = 1 << 20
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM}
"""``copy_file_range`` failures that mean "not here" (old kernel, filesystem): copy in Python."""
MAX_NAME_BYTES = 255
"""Longest resource name accepted, in UTF-8 bytes (assumed: the service's limit is not public)."""
_HASHED = "h-"
"""Metadata files of names whose quoted form is too long for a file name are keyed by hash."""
_MAX_QUOTED = 200


def schema_dir(root: Path, project: str, schema: Optional[str], kind: str) -> Path:
    """Where objects of one ``kind`` (``resources``, ``functions``) of a project's schema live.

    Names are quoted so any project or schema name is one path segment; no schema is the
    ``default`` one, as on the service. Shared by every store below the data directory.
    """
    return (
        root
        / "projects"
        / quote(project, safe="")
        / "schemas"
        / quote(schema or DEFAULT_SCHEMA, safe="")
        / kind
    )


@dataclass(frozen=True)
class ResourceMeta:
    """What the service knows about one resource (served as ``?meta`` headers and list XML)."""

    name: str
    type: str  # upper case, as the service reports it: FILE, ARCHIVE, PY, JAR
    size: int
    md5: Optional[str]
    """Hex digest; None for a part, hashed only when asked for (``content_md5``)."""
    owner: str
    comment: Optional[str]
    is_temp: bool
    created: float
    modified: float
    updator: str
    blob: str
    is_part: bool = False
    """An ``rIsPart`` upload: addressable by name, absent from listings, mergeable."""
    more_blobs: tuple[str, ...] = ()
    """Blobs whose contents follow ``blob``'s (a merged resource: its parts' blobs)."""

    @property
    def blob_names(self) -> tuple[str, ...]:
        """Every blob of the content, in order."""
        return (self.blob, *self.more_blobs)


class Incoming:
    """A request body being spooled to disk, hashed as it arrives unless ``hashed`` is False."""

    def __init__(self, path: Path, handle: BinaryIO, *, hashed: bool = True) -> None:
        self.path = path
        self.handle = handle
        self.md5 = hashlib.md5() if hashed else None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        if self.md5 is not None:
            self.md5.update(chunk)
        self.size += len(chunk)


@dataclass(frozen=True)
class Blob:
    """Content received into the store but not yet published under a name."""

    path: Path
    size: int
    md5: Optional[str]
    more: tuple[Path, ...] = ()
    """Further blobs whose contents follow ``path``'s (a merge)."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.path, *self.more)


class ResourceStore:
    """Resources of any number of projects/schemas below one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.incoming = self.root / "incoming"
        for directory in (self.blobs, self.incoming):
            directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._part_hashes = PartHashes(self._part_blob, lambda blob: self.blobs / blob)
        self._sweep_incoming()
        self._sweep_orphan_blobs()

    # -- layout ---------------------------------------------------------------
    def _meta_dir(self, project: str, schema: Optional[str]) -> Path:
        return schema_dir(self.root, project, schema, "resources")

    def _meta_path(self, project: str, schema: Optional[str], name: str) -> Path:
        return self._meta_dir(project, schema) / _meta_file(name)

    def project_created(self, project: str) -> float:
        """Projects are created on first use; their creation time is that moment."""
        marker = self.root / "projects" / quote(project, safe="") / "project.json"
        with self._lock:
            if not marker.exists():
                marker.parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(
                    marker, json.dumps({"name": project, "created": time.time()}).encode()
                )
            return float(json.loads(marker.read_text())["created"])

    def _sweep_incoming(self) -> None:
        """Uploads interrupted by a crash or a dropped connection leave temp files here."""
        for leftover in self.incoming.iterdir():
            leftover.unlink(missing_ok=True)

    def _sweep_orphan_blobs(self) -> None:
        """Blobs no metadata file points at: adopted by an upload that crashed before publishing.

        Run at start only, before any request, so an upload between adopt and publish is never
        mistaken for an orphan.
        """
        referenced = {blob for meta in self._all_metas() for blob in meta.blob_names}
        for blob in self.blobs.iterdir():
            if blob.name not in referenced:
                blob.unlink(missing_ok=True)

    def _all_metas(self) -> Iterator[ResourceMeta]:
        for path in (self.root / "projects").glob("*/schemas/*/resources/*.json"):
            if path.name.startswith("."):  # a temporary of write_bytes_atomic
                continue
            try:
                yield _load_meta(path.read_bytes())
            except (OSError, ValueError, TypeError):
                continue

    # -- receiving content ------------------------------------------------------
    @contextmanager
    def receive(self, *, hashed: bool = True) -> Iterator[Incoming]:
        """A temp file with a running md5 for streaming a request body; removed unless adopted.

        ``hashed=False`` for parts: a merge hashes their bytes anyway, and a part's own md5 is
        computed only if its metadata is asked for (``content_md5``), so the server hashes
        each uploaded byte once, not twice.
        """
        fd, tmp = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        incoming = Incoming(Path(tmp), os.fdopen(fd, "wb"), hashed=hashed)
        try:
            yield incoming
        finally:
            incoming.handle.close()
            incoming.path.unlink(missing_ok=True)

    def adopt(self, incoming: Incoming) -> Blob:
        """Move a completely received upload into the blob area (same filesystem: a rename),
        durably: the content and the rename are both on disk before the blob is published."""
        incoming.handle.flush()
        os.fsync(incoming.handle.fileno())
        incoming.handle.close()
        target = self.blobs / uuid.uuid4().hex
        replace_durably(incoming.path, target)
        md5 = incoming.md5.hexdigest() if incoming.md5 is not None else None
        return Blob(target, incoming.size, md5)

    def concatenate(self, parts: Sequence[ResourceMeta], md5: Optional[str] = None) -> Blob:
        """The parts' contents, in order, as a new durable blob list, with their md5.

        No byte is copied: each part's blob gets a hard link of its own (the parts are deleted
        after a merge; their data lives on in the merged resource), and the directory is
        fsynced. Where hard links are refused, a blob is copied. The md5 is ``md5`` when the
        caller knows it already (``PartHashes``), else the parts are read once for it. The
        caller compares the md5 and discards a mismatching blob.
        """
        sources = [self.blobs / part.blob for part in parts]
        if md5 is None:
            md5 = _md5_of_files(sources)
        links: list[Path] = []
        try:
            for source in sources:
                links.append(self.blobs / uuid.uuid4().hex)
                _link_or_copy(source, links[-1])
            fsync_directory(self.blobs)
            size = sum(link.stat().st_size for link in links)
        except BaseException:
            for link in links:
                link.unlink(missing_ok=True)
            raise
        return Blob(links[0], size, md5, tuple(links[1:]))

    def discard(self, blob: Blob) -> None:
        for path in blob.paths:
            path.unlink(missing_ok=True)

    # -- metadata -----------------------------------------------------------------
    def get(self, project: str, schema: Optional[str], name: str) -> ResourceMeta:
        try:
            raw = self._meta_path(project, schema, name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise errors.no_such_object(f"resource '{name}' in project '{project}'") from None
        return _load_meta(raw)

    def find(self, project: str, schema: Optional[str], name: str) -> Optional[ResourceMeta]:
        """``get`` that answers None for a missing name."""
        try:
            return self.get(project, schema, name)
        except errors.ServiceError:
            return None

    def content_md5(self, meta: ResourceMeta) -> str:
        """``meta``'s md5, hashing the content of a part that was stored without one."""
        if meta.md5 is not None:
            return meta.md5
        try:
            return _md5_of_files([self.blobs / blob for blob in meta.blob_names])
        except FileNotFoundError:  # consumed or deleted since it was looked up
            raise errors.no_such_object(f"resource '{meta.name}'") from None

    def open_content(self, meta: ResourceMeta) -> BinaryIO:
        """The content, readable and seekable; every blob is opened before this returns."""
        if not meta.more_blobs:
            return open(self.blobs / meta.blob, "rb")
        return io.BufferedReader(_Blobs([self.blobs / blob for blob in meta.blob_names]))

    def publish(
        self,
        project: str,
        schema: Optional[str],
        blob: Blob,
        *,
        name: str,
        type: str,
        owner: str,
        comment: Optional[str],
        is_temp: bool,
        overwrite: bool,
        is_part: bool = False,
    ) -> ResourceMeta:
        """Name a blob: create (must not exist) or replace (must exist), atomically.

        The blob is discarded whenever it does not end up published, so no refusal or failure
        leaves an orphan in ``blobs/``.
        """
        with self._lock:
            try:
                meta = self._publish_locked(
                    project,
                    schema,
                    blob,
                    name=name,
                    type=type,
                    owner=owner,
                    comment=comment,
                    is_temp=is_temp,
                    overwrite=overwrite,
                    is_part=is_part,
                )
            except BaseException:
                self.discard(blob)
                raise
            if is_part:
                self._part_hashes.added(project, schema, meta.name)
            return meta

    def _publish_locked(
        self,
        project: str,
        schema: Optional[str],
        blob: Blob,
        *,
        name: str,
        type: str,
        owner: str,
        comment: Optional[str],
        is_temp: bool,
        overwrite: bool,
        is_part: bool,
    ) -> ResourceMeta:
        path = self._meta_path(project, schema, name)
        old = self.find(project, schema, name)
        if old is not None and not overwrite:
            raise errors.already_exists(f"resource '{name}' in project '{project}'")
        if old is None and overwrite:
            raise errors.no_such_object(f"resource '{name}' in project '{project}'")
        now = time.time()
        meta = ResourceMeta(
            name=old.name if old else name,
            type=type.upper(),
            size=blob.size,
            md5=blob.md5,
            owner=old.owner if old else owner,
            comment=comment if comment is not None or old is None else old.comment,
            is_temp=is_temp,
            created=old.created if old else now,
            modified=now,
            updator=owner,
            blob=blob.path.name,
            is_part=is_part,
            more_blobs=tuple(path.name for path in blob.more),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(asdict(meta)).encode())
        if old is not None:
            self._unlink_blobs(old)
        return meta

    def delete(self, project: str, schema: Optional[str], name: str) -> ResourceMeta:
        with self._lock:
            meta = self.get(project, schema, name)
            self._meta_path(project, schema, name).unlink()
            self._part_hashes.removed(project, schema, meta.name)
            self._unlink_blobs(meta)
            return meta

    def _unlink_blobs(self, meta: ResourceMeta) -> None:
        for blob in meta.blob_names:
            (self.blobs / blob).unlink(missing_ok=True)

    def names(self, project: str, schema: Optional[str] = None) -> list[str]:
        """Every resource name in a project/schema, parts included (for tests and debugging)."""
        directory = self._meta_dir(project, schema)
        if not directory.is_dir():
            return []
        metas = (
            self.find(project, schema, k)
            for k in (self._entry_key(directory, e) for e in os.listdir(directory))
            if k is not None
        )
        return sorted(meta.name for meta in metas if meta is not None)

    def list_page(
        self, project: str, schema: Optional[str], *, prefix: str, marker: str, limit: int
    ) -> tuple[list[ResourceMeta], str]:
        """One page of resources in name order after ``marker``; returns (page, next marker).

        Names compare case-insensitively. Part uploads are never listed, not even for an
        exact-name prefix: measured live (README, emulator table).
        """
        directory = self._meta_dir(project, schema)
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            entries = []
        keys = sorted(
            key for key in (self._entry_key(directory, e) for e in entries) if key is not None
        )
        prefix, marker = prefix.lower(), marker.lower()
        start = max(bisect.bisect_right(keys, marker), bisect.bisect_left(keys, prefix))
        page: list[ResourceMeta] = []
        more = False
        for key in keys[start:]:
            if not key.startswith(prefix):
                break
            meta = self.find(project, schema, key)
            if meta is None or meta.is_part:
                continue  # deleted while listing, or a part (never listed)
            if len(page) == limit:
                more = True
                break
            page.append(meta)
        return page, (page[-1].name if more else "")

    def backdate(
        self, project: str, schema: Optional[str], name: str, seconds: float
    ) -> ResourceMeta:
        """Move a resource's creation and modification times ``seconds`` into the past (test
        support: makes it old without waiting); raises the service's not-found error for a
        missing one."""
        with self._lock:
            meta = self.get(project, schema, name)
            older = replace(meta, created=meta.created - seconds, modified=meta.modified - seconds)
            path = self._meta_path(project, schema, name)
            write_bytes_atomic(path, json.dumps(asdict(older)).encode())
            return older

    @staticmethod
    def _entry_key(directory: Path, entry: str) -> Optional[str]:
        """The lower-cased name a metadata file holds (read only for hash-keyed files)."""
        if not entry.endswith(".json") or entry.startswith("."):  # "." : atomic-write temporaries
            return None
        if not entry.startswith(_HASHED):
            return unquote(entry[: -len(".json")])
        try:
            return _load_meta((directory / entry).read_bytes()).name.lower()
        except (OSError, ValueError, TypeError):
            return None

    def merge(
        self,
        project: str,
        schema: Optional[str],
        *,
        name: str,
        part_names: Sequence[str],
        md5: str,
        type: str,
        owner: str,
        comment: Optional[str],
        is_temp: bool,
        overwrite: bool,
        limit: int,
    ) -> ResourceMeta:
        """Concatenate part uploads into ``name``, in the order the live service was seen to.

        Measured live: an existing target is refused first (409, parts kept); a missing part is
        404 (parts kept); an md5 mismatch is 500 and consumes the parts; success consumes them.
        Assumed (F9 hardening, not measured): only parts merge, a part named twice is refused,
        and the whole merge holds the store lock so no upload, delete or other merge interleaves.
        """
        with self._lock:
            existing = self.find(project, schema, name)
            if existing is not None and not overwrite:
                raise errors.merge_target_exists(name)
            if existing is None and overwrite:
                raise errors.no_such_object(f"resource '{name}' in project '{project}'")
            keys = [part.lower() for part in part_names]
            if len(set(keys)) != len(keys):
                raise errors.invalid_parameter("a part is named more than once in the merge")
            if name.lower() in keys:
                raise errors.invalid_parameter("the merge target cannot be one of its parts")
            parts = []
            for part_name in part_names:
                part = self.find(project, schema, part_name)
                if part is None:
                    raise errors.no_such_part(part_name)
                if not part.is_part:
                    raise errors.invalid_parameter(
                        f"'{part_name}' is not a part upload (rIsPart); only parts can be merged"
                    )
                parts.append(part)
            total = sum(part.size for part in parts)
            if total > limit:
                raise errors.resource_too_large(total, limit)
            known = self._part_hashes.md5(project, schema, part_names, [p.blob for p in parts])
            blob = self.concatenate(parts, known)
            if blob.md5 != md5:
                self.discard(blob)
                self._consume(project, schema, parts)
                raise errors.merge_signature_mismatch()
            meta = self.publish(
                project,
                schema,
                blob,
                name=name,
                type=type,
                owner=owner,
                comment=comment,
                is_temp=is_temp,
                overwrite=overwrite,
            )
            self._consume(project, schema, parts)
            return meta

    def _consume(self, project: str, schema: Optional[str], parts: Sequence[ResourceMeta]) -> None:
        for part in parts:
            with contextlib.suppress(errors.ServiceError):
                self.delete(project, schema, part.name)

    def _part_blob(self, project: str, schema: Optional[str], name: str) -> Optional[str]:
        """The blob of the part ``name``; None when there is no such part (for ``PartHashes``)."""
        meta = self.find(project, schema, name)
        return meta.blob if meta is not None and meta.is_part else None

    def close(self) -> None:
        """Stop background work (the emulator stopped); the data stays as it is."""
        self._part_hashes.close()

    def wipe(self) -> None:
        """Forget everything (the control API's reset with data)."""
        with self._lock:
            self._part_hashes.clear()
            for child in ("projects", "blobs", "incoming"):
                shutil.rmtree(self.root / child, ignore_errors=True)
            for directory in (self.blobs, self.incoming):
                directory.mkdir(parents=True, exist_ok=True)


def _md5_of_files(paths: Sequence[Path]) -> str:
    """Hex md5 of the files' contents one after another."""
    digest = hashlib.md5()
    for path in paths:
        hash_file_into(digest, path)
    return digest.hexdigest()


def _link_or_copy(source: Path, link: Path) -> None:
    """Hard-link ``source`` as ``link``; where links are refused, a durable copy instead."""
    try:
        os.link(source, link)
    except OSError:
        with atomic_writer(link) as out:
            _append(source, out)


def _append(source: Path, out: BinaryIO) -> int:
    """Append the file ``source`` at ``out``'s position; returns the bytes copied.

    ``os.copy_file_range`` where the kernel and filesystem offer it (both file positions
    advance), else a buffered copy from wherever the kernel copy stopped.
    """
    with open(source, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                count = os.copy_file_range(src.fileno(), out.fileno(), size - copied)
                if count == 0:
                    break
                copied += count
        except AttributeError:  # no copy_file_range on this platform
            pass
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
        src.seek(copied)
        while chunk := src.read(COPY_BUFFER):
            out.write(chunk)
            copied += len(chunk)
        out.flush()  # the next kernel copy writes at the descriptor's position
        return copied


def _meta_file(name: str) -> str:
    """The metadata file name of a resource: its lower-cased name, quoted, or hashed if long.

    Why hashed: a 255-byte UTF-8 name quotes to up to 765 bytes, over a file name's limit.
    """
    quoted = quote(name.lower(), safe="")
    if quoted.startswith("."):
        quoted = "%2E" + quoted[1:]  # dot-files are write_bytes_atomic's temporaries
    if len(quoted) <= _MAX_QUOTED and not quoted.startswith(_HASHED):
        return quoted + ".json"
    return _HASHED + hashlib.sha256(name.lower().encode("utf-8")).hexdigest() + ".json"


def _load_meta(raw: bytes) -> ResourceMeta:
    fields = json.loads(raw)
    fields["more_blobs"] = tuple(fields.get("more_blobs", ()))
    return ResourceMeta(**fields)


class _Blobs(io.RawIOBase):
    """Blob files read as one seekable stream (a merged resource's content).

    All are opened up front, so a concurrent replace or delete cannot tear a read.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__()
        self._opened = contextlib.ExitStack()
        with self._opened:
            self._files = [self._opened.enter_context(io.FileIO(path)) for path in paths]
            self._opened = self._opened.pop_all()
        self._sizes = [os.fstat(handle.fileno()).st_size for handle in self._files]
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: sum(self._sizes)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        start = 0
        for handle, size in zip(self._files, self._sizes):
            if self._position < start + size:
                handle.seek(self._position - start)
                count = handle.readinto(memoryview(buffer)[: start + size - self._position])
                self._position += count or 0
                return count or 0
            start += size
        return 0

    def close(self) -> None:
        self._opened.close()
        super().close()
