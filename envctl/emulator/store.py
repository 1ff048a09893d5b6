"""On-disk resource store: one JSON metadata file per resource plus an immutable content blob.

Why this layout: a resource is published by atomically replacing its metadata file, which
points at a fully written blob, so a crash never exposes a half-written resource and a
restart with the same directory sees exactly the committed state. Readers hold an open
blob handle, so a concurrent replace or delete never tears a download.
"""

from __future__ import annotations

import bisect
import hashlib
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
from typing import BinaryIO, Iterator, Optional, Sequence
from urllib.parse import quote, unquote

from envctl.emulator import errors
from envctl.files import write_bytes_atomic

DEFAULT_SCHEMA = "default"
COPY_BUFFER = 1 << 20


@dataclass(frozen=True)
class ResourceMeta:
    """What the service knows about one resource (served as ``?meta`` headers and list XML)."""

    name: str
    type: str  # upper case, as the service reports it: FILE, ARCHIVE, PY, JAR
    size: int
    md5: str  # hex digest
    owner: str
    comment: Optional[str]
    is_temp: bool
    created: float
    modified: float
    updator: str
    blob: str


class Incoming:
    """A request body being spooled to disk, hashed as it arrives."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path = path
        self.handle = handle
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)


@dataclass(frozen=True)
class Blob:
    """Content received into the store but not yet published under a name."""

    path: Path
    size: int
    md5: str


class ResourceStore:
    """Resources of any number of projects/schemas below one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.incoming = self.root / "incoming"
        for directory in (self.blobs, self.incoming):
            directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._sweep_incoming()

    # -- layout ---------------------------------------------------------------
    def _meta_dir(self, project: str, schema: Optional[str]) -> Path:
        return (
            self.root
            / "projects"
            / quote(project, safe="")
            / "schemas"
            / quote(schema or DEFAULT_SCHEMA, safe="")
            / "resources"
        )

    def _meta_path(self, project: str, schema: Optional[str], name: str) -> Path:
        return self._meta_dir(project, schema) / (quote(name, safe="") + ".json")

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

    # -- receiving content ------------------------------------------------------
    @contextmanager
    def receive(self) -> Iterator["Incoming"]:
        """A temp file with a running md5 for streaming a request body; removed unless adopted."""
        fd, tmp = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        incoming = Incoming(Path(tmp), os.fdopen(fd, "wb"))
        try:
            yield incoming
        finally:
            incoming.handle.close()
            incoming.path.unlink(missing_ok=True)

    def adopt(self, incoming: "Incoming") -> Blob:
        """Move a completely received upload into the blob area (same filesystem: a rename)."""
        incoming.handle.flush()
        os.fsync(incoming.handle.fileno())
        incoming.handle.close()
        target = self.blobs / uuid.uuid4().hex
        os.replace(incoming.path, target)
        return Blob(target, incoming.size, incoming.md5.hexdigest())

    def concatenate(self, parts: Sequence[ResourceMeta]) -> Blob:
        """Merge part contents into a new blob, hashing on the fly (bounded memory)."""
        digest = hashlib.md5()
        size = 0
        target = self.blobs / uuid.uuid4().hex
        tmp = self.incoming / ("merge-" + target.name)
        try:
            with open(tmp, "wb") as out:
                for part in parts:
                    with open(self.blobs / part.blob, "rb") as src:
                        while chunk := src.read(COPY_BUFFER):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return Blob(target, size, digest.hexdigest())

    def discard(self, blob: Blob) -> None:
        blob.path.unlink(missing_ok=True)

    # -- metadata -----------------------------------------------------------------
    def get(self, project: str, schema: Optional[str], name: str) -> ResourceMeta:
        try:
            raw = self._meta_path(project, schema, name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise errors.no_such_object(f"resource '{name}' in project '{project}'") from None
        return ResourceMeta(**json.loads(raw))

    def open_content(self, meta: ResourceMeta) -> BinaryIO:
        return open(self.blobs / meta.blob, "rb")

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
    ) -> ResourceMeta:
        """Name a blob: create (must not exist) or replace (must exist), atomically."""
        with self._lock:
            path = self._meta_path(project, schema, name)
            try:
                old = self.get(project, schema, name)
            except errors.ServiceError:
                old = None
            if old is not None and not overwrite:
                self.discard(blob)
                raise errors.already_exists(f"resource '{name}' in project '{project}'")
            if old is None and overwrite:
                self.discard(blob)
                raise errors.no_such_object(f"resource '{name}' in project '{project}'")
            now = time.time()
            meta = ResourceMeta(
                name=name,
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
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, json.dumps(asdict(meta)).encode())
            if old is not None:
                (self.blobs / old.blob).unlink(missing_ok=True)
            return meta

    def delete(self, project: str, schema: Optional[str], name: str) -> ResourceMeta:
        with self._lock:
            meta = self.get(project, schema, name)
            self._meta_path(project, schema, name).unlink()
            (self.blobs / meta.blob).unlink(missing_ok=True)
            return meta

    def list_page(
        self, project: str, schema: Optional[str], *, prefix: str, marker: str, limit: int
    ) -> tuple[list[ResourceMeta], str]:
        """One page of resources in name order after ``marker``; returns (page, next marker)."""
        directory = self._meta_dir(project, schema)
        try:
            names = sorted(
                unquote(entry[: -len(".json")])
                for entry in os.listdir(directory)
                if entry.endswith(".json")  # not a temporary of write_bytes_atomic
            )
        except FileNotFoundError:
            names = []
        start = max(bisect.bisect_right(names, marker), bisect.bisect_left(names, prefix))
        page: list[ResourceMeta] = []
        more = False
        for name in names[start:]:
            if not name.startswith(prefix):
                break
            if len(page) == limit:
                more = True
                break
            try:
                page.append(self.get(project, schema, name))
            except errors.ServiceError:
                continue  # deleted while listing
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

    def wipe(self) -> None:
        """Forget everything (the control API's reset with data)."""
        with self._lock:
            for child in ("projects", "blobs", "incoming"):
                shutil.rmtree(self.root / child, ignore_errors=True)
            for directory in (self.blobs, self.incoming):
                directory.mkdir(parents=True, exist_ok=True)
