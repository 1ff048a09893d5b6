"""MaxCompute as a target: objects are project resources, driven through pyodps.

Archives are ``archive`` resources, metadata and pointers ``file`` resources. Uploads stream
in ``chunk_size`` parts (pyodps's part+merge protocol), ``parallel`` of them in flight, so
memory stays bounded and latency overlaps; every
call is retried with backoff on transient failures. Credentials: see
:mod:`envctl.targets.credentials` (an ``odps.ODPS`` entry, the environment, the cloud chain).

Parts are found only by name, never by listing: the live service leaves part resources out
of every listing (measured). Before its first part an upload writes a journal object naming
all its parts (``<name>.upload.<attempt>.json``), so a killed upload's parts can still be
found and deleted by ``gc``.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import queue
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, TypeVar

from envctl import console
from envctl.errors import EnvctlError
from envctl.files import atomic_writer, file_hexdigest
from envctl.targets.base import (
    FunctionInfo,
    Kind,
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    Progress,
    Target,
    TargetError,
    TransientError,
    hex_md5,
    verify_uploaded,
)
from envctl.targets.retry import DEFAULT_ATTEMPTS, call_with_retries, is_transient

if TYPE_CHECKING:
    from odps import ODPS

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 16 << 20
"""Bytes per part; a part is held in memory while it is sent."""
DEFAULT_PARALLEL = 4
"""Parts in flight at once (``&parallel=N``): a part's request mostly waits on the network."""
READ_CHUNK = 1 << 20
PART_INFIX = ".part.tmp."
"""Part resources are ``<name>.part.tmp.<attempt6>.<index6>``, as pyodps names them."""
_PART = re.compile(re.escape(PART_INFIX) + r"\d{6}\.\d{6}$")
JOURNAL_INFIX = ".upload."
"""Upload journals are ``<name>.upload.<attempt6>.json``: sorted after their parts (p < u)."""
_JOURNAL = re.compile(r"^(?P<object>.+)" + re.escape(JOURNAL_INFIX) + r"(?P<attempt>\d{6})\.json$")
FULL_CHECK_MAX = 8 << 20
"""Without a Content-MD5, archives up to this size are read back whole to check the md5."""
TAIL_CHECK = 1 << 20
"""Larger ones are checked by size and a ranged read of their last bytes."""
ENDPOINT_HINT = (
    "the endpoint must be MaxCompute's REST root, ending in /api "
    "(e.g. https://service.cn-hangzhou.maxcompute.aliyun.com/api)"
)


def credentials_from_env(variables: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """pyodps key-pair arguments from ``ALIBABA_CLOUD_*`` or a named target's ``variables``
    (``access_key_id_var``... of ``envctl.toml``); a one-line error when they are unset."""
    from envctl.targets.credentials import NO_CREDENTIALS, key_pair_from_variables

    found = key_pair_from_variables(variables or {}, required=bool(variables))
    if found is None:
        raise EnvctlError(NO_CREDENTIALS)
    return dict(found.kwargs)


def entry_location(entry: ODPS) -> dict[str, Any]:
    """``project``, ``endpoint`` and ``schema`` of an ``odps.ODPS`` entry (it must name a project).

    Only a schema the entry was given: its ``schema`` property would ask the service.
    """
    if not getattr(entry, "project", None):
        raise EnvctlError("the odps.ODPS entry has no project: pass project= when creating it")
    schema = getattr(entry, "_schema", None)
    return {"project": entry.project, "endpoint": entry.endpoint, "schema": schema or None}


class OdpsTarget(Target):
    """Resources of one MaxCompute project."""

    def __init__(
        self,
        project: str,
        endpoint: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        parallel: int = DEFAULT_PARALLEL,
        attempts: int = DEFAULT_ATTEMPTS,
        retry_wait: float = 0.5,
        credential_vars: Optional[Mapping[str, str]] = None,
        entry: Optional[ODPS] = None,
        schema: Optional[str] = None,
    ) -> None:
        """``entry``: an ``odps.ODPS`` whose account signs every request (see ``from_entry``);
        ``schema``: the schema of a three-tier (schema-enabled) project holding everything."""
        super().__init__()
        from odps import ODPS

        from envctl.targets.credentials import announce, resolve_credentials

        found = resolve_credentials(credential_vars, entry)
        credentials = found.kwargs
        self.credential_source = found.source
        announce(f"odps://{project}", found.source)
        self.credential_vars = dict(credential_vars or {})
        self.entry = entry
        self.project = project
        self.schema = schema
        self.endpoint = endpoint
        self.chunk_size = chunk_size
        self.parallel = max(1, parallel)
        self.attempts = attempts
        self.retry_wait = retry_wait
        self._spare_resources: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.url = f"odps://{project}?endpoint={endpoint}" + (f"&schema={schema}" if schema else "")
        # pyodps's own retry layer is switched off: stacked under ours it multiplied the attempts
        # (a dead endpoint took ~20 s to report) and ignored ENVCTL_RETRY_WAIT_SCALE.
        try:
            self.client: ODPS = ODPS(
                project=project,
                endpoint=endpoint,
                overwrite_global=False,
                rest_client_kwargs={"retry_enabled": False},
                **credentials,
            )
        except TypeError:  # a pyodps without rest_client_kwargs: keep its retries
            self.client = ODPS(
                project=project, endpoint=endpoint, overwrite_global=False, **credentials
            )

    def clone(self) -> OdpsTarget:
        """A second client: pyodps caches resource objects per client, unsafe across threads."""
        return OdpsTarget(
            self.project,
            self.endpoint,
            chunk_size=self.chunk_size,
            parallel=self.parallel,
            attempts=self.attempts,
            retry_wait=self.retry_wait,
            credential_vars=self.credential_vars,
            entry=self.entry,
            schema=self.schema,
        )

    @classmethod
    def from_entry(cls, entry: ODPS, **kwargs: Any) -> OdpsTarget:
        """The target of ``entry``'s project and endpoint, signed with its account."""
        return cls(**entry_location(entry), entry=entry, **kwargs)

    # -- SQL functions ------------------------------------------------------------------
    def list_functions(self) -> dict[str, FunctionInfo]:
        def listing() -> dict[str, FunctionInfo]:
            found = {}
            for function in self.client.list_functions(schema=self.schema):
                names = tuple(function._resources or ())  # names as listed: no lookups
                found[function.name] = FunctionInfo(function.name, function.class_type, names)
            return found

        return self._call("list", listing)

    def put_function(self, function: FunctionInfo) -> None:
        def put() -> None:
            if self.client.exist_function(function.name, schema=self.schema):
                existing = self.client.get_function(function.name, schema=self.schema)
                existing.reload()
                existing.class_type = function.class_type
                existing.resources = list(function.resources)
                existing.update()
            else:
                resources = list(function.resources)
                self.client.create_function(
                    function.name,
                    class_type=function.class_type,
                    resources=resources,
                    schema=self.schema,
                )

        self._call("write", put, function.name)

    def delete_function(self, name: str) -> None:
        def drop() -> None:
            if self.client.exist_function(name, schema=self.schema):
                self.client.delete_function(name, schema=self.schema)

        self._call("delete", drop, name)

    # -- plumbing ---------------------------------------------------------------------
    def _call(self, operation: str, fn: Callable[[], T], name: str = "") -> T:
        """Count, retry transient failures, and turn pyodps errors into target errors."""
        from odps import errors as odps_errors

        self._count(operation)
        try:
            return call_with_retries(fn, attempts=self.attempts, wait=self.retry_wait)
        except odps_errors.NoSuchProject:
            raise EnvctlError(
                f"MaxCompute project {self.project!r} does not exist at {self.endpoint}"
            ) from None
        except odps_errors.NoSuchObject as exc:
            if not getattr(exc, "code", None):  # pyodps's reading of a 404 it could not parse
                raise self._not_maxcompute(operation, name) from None
            raise ObjectMissing(name) from None
        except odps_errors.ObjectAlreadyExists:
            raise ObjectExists(name) from None
        except (
            odps_errors.AuthorizationRequired,
            odps_errors.SignatureNotMatch,
            odps_errors.NoPermission,
        ) as exc:
            raise EnvctlError(
                f"MaxCompute refused {operation} {name}: {type(exc).__name__} "
                "(check the credentials)"
            ) from None
        except Exception as exc:
            if getattr(exc, "status_code", None) in (
                401,
                403,
            ):  # whatever code the service names it
                raise EnvctlError(
                    f"MaxCompute refused {operation} {name}: "
                    f"HTTP {exc.status_code} {type(exc).__name__} "  # type: ignore[attr-defined]
                    "(check the credentials and the account's permissions on the project)"
                ) from None
            if is_transient(exc):
                raise TransientError(
                    f"{operation} {name} on {self.url} failed after {self.attempts} attempts: "
                    f"{_short(exc)}"
                ) from None
            if isinstance(exc, (odps_errors.ODPSError, OSError)):
                raise TargetError(
                    f"{operation} {name} on {self.url} failed: {_short(exc)}"
                ) from None
            raise

    def _not_maxcompute(self, operation: str, name: str) -> EnvctlError:
        """A 404 without a MaxCompute error body: a wrong endpoint path or a proxy, never "missing".

        Why an error even for delete/stat: treating it as "already gone" would report success
        against a service that was never reached.
        """
        schema = f"/schemas/{self.schema}" if self.schema else ""
        url = f"{self.endpoint.rstrip('/')}/projects/{self.project}{schema}/resources"
        return EnvctlError(
            f"{operation} {name or '(listing)'}: {url} answered HTTP 404 "
            "without a MaxCompute error "
            f"(wrong endpoint path or a proxy?); {ENDPOINT_HINT}"
        )

    def _resources(self) -> Any:
        parent = self.client.get_schema(self.schema) if self.schema else self.client.get_project()
        return parent.resources

    @staticmethod
    def _info(resource: Any, md5: Optional[str] = None) -> ObjectInfo:
        """What the service reports of ``resource``; its md5 as lower-case hex whichever form
        (hex or base64) the service sent, so every comparison with a recorded md5 holds."""
        modified = resource.last_modified_time
        return ObjectInfo(
            name=resource.name,
            size=int(resource.size or 0),
            modified=modified.timestamp() if modified is not None else 0.0,
            md5=hex_md5(md5) if md5 else None,
            temp=bool(getattr(resource, "is_temp_resource", False) or False),
        )

    # -- the Target interface --------------------------------------------------------------
    def list(self, prefix: str) -> list[ObjectInfo]:
        def run() -> list[ObjectInfo]:
            return [
                self._info(r)
                for r in self.client.list_resources(prefix=prefix, schema=self.schema)
                if r.name.startswith(prefix)
            ]

        return sorted(self._call("list", run, prefix), key=lambda i: i.name)

    def stat(self, name: str) -> Optional[ObjectInfo]:
        def run() -> ObjectInfo:
            resource = self._resources().get_typed(name, "file")
            resource.reload()
            return self._info(resource, resource.content_md5)

        try:
            return self._call("stat", run, name)
        except ObjectMissing:
            return None

    def _stream(self, name: str) -> Iterator[bytes]:
        with self.client.open_resource(
            name, mode="rb", type="file", stream=True, schema=self.schema
        ) as handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk

    def read(self, name: str) -> bytes:
        return self._call("read", lambda: b"".join(self._stream(name)), name)

    def download(self, name: str, dest: Path, progress: Optional[Progress] = None) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)

        def run() -> None:
            with atomic_writer(dest, suffix=".part") as out:
                for chunk in self._stream(name):
                    out.write(chunk)
                    if progress:
                        progress(len(chunk))

        self._call("download", run, name)

    def put_bytes(self, name: str, data: bytes, *, temp: bool = False) -> None:
        def run() -> None:
            try:
                self.client.create_resource(
                    name, "file", fileobj=data, temp=temp, schema=self.schema
                )
            except Exception as exc:
                from odps import errors as odps_errors

                if not isinstance(exc, odps_errors.ObjectAlreadyExists):
                    raise
                self._resources().get_typed(name, "file").update(file_obj=data, temp=temp or None)

        self._call("write", run, name)

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
        """Upload, then verify; the finished upload's journal is deleted while the
        verification's request runs (one round trip fewer; a leftover journal is gc's)."""
        size = path.stat().st_size
        journal = self._call(
            "upload", lambda: self._upload_once(name, path, size, md5, kind, temp, progress), name
        )
        with ThreadPoolExecutor(1, thread_name_prefix="envctl-journal") as side:
            if journal is not None:
                side.submit(self._forget, journal)
            return self._verify(name, path, size, md5)

    def _upload_once(
        self,
        name: str,
        path: Path,
        size: int,
        md5: str,
        kind: Kind,
        temp: bool,
        progress: Optional[Progress],
    ) -> Optional[str]:
        """One attempt: one request for a file of one chunk, else MaxCompute's part+merge.

        Returns the journal to delete once the upload is done (None for a single request).
        Parts are named up front, in a journal written before the first one is sent (its
        request overlaps reading the first chunks and setting up the senders' clients).

        Driven with pyodps's own calls rather than its stream writer: that writer merges
        whatever parts exist even when a part failed (publishing a truncated archive) and holds
        each part three times over. Here a part is one bytes object, sent and dropped; the
        service checks the merged content against ``md5``, the caller's (already computed: the
        parts are not hashed again here), so content that differs from it is never published.
        A failed attempt deletes its parts by name (a bad-md5 merge has consumed them already,
        measured live), so a retry uploads them afresh; a failed merge of a file that no longer
        hashes to ``md5`` is not retried.
        """
        resources = self._resources()
        if size <= self._single_shot_max():
            data = path.read_bytes()  # at most one chunk: the same memory bound as a part
            if len(data) != size:
                raise TargetError(f"{path} changed while it was uploaded")
            resources.get_typed(name, kind, temp=temp).create(overwrite=False, fileobj=data)
            if progress:
                progress(size)
            return None
        attempt = random.randint(0, 999_999)
        count = -(-size // self.chunk_size)
        names = [f"{name}{PART_INFIX}{attempt:06d}.{index:06d}" for index in range(count)]
        journal = f"{name}{JOURNAL_INFIX}{attempt:06d}.json"
        record = json.dumps({"object": name, "parts": names, "started": time.time()}).encode()
        written = threading.Event()

        def write_journal() -> None:
            self.client.create_resource(
                journal, "file", fileobj=record, temp=True, schema=self.schema
            )
            written.set()

        try:
            parts = self._send_parts(path, names, progress, write_journal)
            resource = resources.get_typed(name, kind, temp=temp)
            try:
                resources.merge_part_files(resource, parts, md5, overwrite=False)
            except Exception:
                if file_hexdigest(path, "md5") != md5.lower():
                    raise TargetError(
                        f"{path} changed while it was uploaded (its md5 is no longer {md5})"
                    ) from None
                raise
        except BaseException:
            if written.is_set() and self._drop_parts(names):
                self._forget(journal)
            raise
        return journal

    def _send_parts(
        self,
        path: Path,
        names: Sequence[str],
        progress: Optional[Progress],
        first: Callable[[], None],
    ) -> builtins.list[Any]:
        """Send ``path`` as the parts ``names``, up to ``parallel`` at once; the part objects.

        ``first`` (the journal write) runs on a thread of its own while the first chunks are
        read and the senders' clients set up; no part is sent before it has returned, and its
        error fails the call before any part exists.
        A slot is taken before a chunk is read and given back once its part is sent, so at
        most ``parallel`` chunks exist at any time: peak memory grows by about
        ``(parallel + 1) * chunk_size`` (pyodps's copy of the part being sent included).
        Each part is sent through a client lent to one thread at a time (``_lent_resources``);
        the missing ones are set up at once, in parallel, while the journal is written.
        Parts may finish in any order; ``parts`` is in name order, which is the merge order.
        The first failure stops the reading; parts in flight finish before this returns, so
        the caller's cleanup by name sees every part that was created.
        """
        slots = threading.BoundedSemaphore(self.parallel)
        failed = threading.Event()

        def send(part_name: str, chunk: bytes) -> Any:
            try:
                with self._lent_resources(setting_up) as resources:
                    ready.result()
                    part = resources.create(
                        name=part_name, type="file", temp=True, part=True, fileobj=chunk
                    )
                if progress:
                    progress(len(chunk))
                return part
            except BaseException:
                failed.set()
                raise
            finally:
                del chunk
                slots.release()

        futures: builtins.list[Future[Any]] = []
        with ThreadPoolExecutor(self.parallel + 1, thread_name_prefix="envctl-part") as pool:
            ready = pool.submit(first)
            missing = min(len(names), self.parallel) - self._spare_resources.qsize()
            setting_up = [pool.submit(self._add_client) for _ in range(missing)]
            try:
                with open(path, "rb") as handle:
                    for part_name in names:
                        slots.acquire()
                        if failed.is_set():
                            break
                        chunk = handle.read(self.chunk_size)
                        if not chunk:
                            raise TargetError(f"{path} shrank while it was uploaded")
                        futures.append(pool.submit(send, part_name, chunk))
                        del chunk
                    if not failed.is_set() and handle.read(1):
                        raise TargetError(f"{path} grew while it was uploaded")
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        ready.result()
        return [future.result() for future in futures]

    @contextlib.contextmanager
    def _lent_resources(self, setting_up: Sequence[Future[None]] = ()) -> Iterator[Any]:
        """The resource collection of a client of its own, lent to one thread at a time.

        Why: pyodps keeps per-client state that is unsafe across threads, and a new client
        pays a request (the tenant's settings) before its first call; so clients are kept for
        the next borrower (the next part or upload), and a borrower waits for one of
        ``setting_up`` (``_add_client`` calls) rather than setting up one more.
        """
        while True:
            try:
                resources = self._spare_resources.get_nowait()
                break
            except queue.Empty:
                pending = [future for future in setting_up if not future.done()]
                if not pending:
                    resources = self.clone()._resources()
                    break
                wait(pending, return_when=FIRST_COMPLETED)
        try:
            yield resources
        finally:
            self._spare_resources.put(resources)

    def _add_client(self) -> None:
        """One more client for ``_lent_resources`` to lend."""
        self._spare_resources.put(self.clone()._resources())

    def _single_shot_max(self) -> int:
        """Largest file sent in one request: one chunk, and never pyodps's own chunking size."""
        from odps import options

        return min(self.chunk_size, int(options.resource_chunk_size))

    def _drop_parts(self, names: Sequence[str]) -> bool:
        """Delete parts by name (never by listing); True when none is left.

        Best effort: cleanup must never mask the upload's own error. What it cannot delete
        stays named in the journal for ``gc``.
        """
        from odps import errors as odps_errors

        clean = True
        for part in names:
            try:
                self.client.delete_resource(part, schema=self.schema)
            except odps_errors.NoSuchObject as exc:
                clean = clean and bool(getattr(exc, "code", None))  # consumed, or never sent
            except Exception:  # noqa: BLE001 - cleanup must never mask the upload's own error
                clean = False
        return clean

    def _forget(self, journal: str) -> None:
        """Delete an upload's journal, best effort (a leftover one is collected by gc),
        through a lent client: it may run beside a request on ``self.client``."""
        with contextlib.suppress(Exception), self._lent_resources() as resources:
            resources.delete(journal)

    def _verify(self, name: str, path: Path, size: int, md5: str) -> ObjectInfo:
        """``verify_uploaded``, with a content check when the service sends no Content-MD5."""
        info = self.stat(name)
        if info is not None and info.md5 is None and info.size == size:
            how = "its content" if size <= FULL_CHECK_MAX else f"its last {TAIL_CHECK} bytes"
            console.warn(f"{name}: MaxCompute reported no Content-MD5; checking size and {how}")
            self._compare_content(name, path, size, md5)
        return verify_uploaded(name, info, size, md5)

    def _compare_content(self, name: str, path: Path, size: int, md5: str) -> None:
        """Read back a small object whole (md5) or a large one's tail (bytes), else TargetError."""
        if size <= FULL_CHECK_MAX:
            remote = hashlib.md5(self.read(name)).hexdigest()
            if remote != md5.lower():
                raise TargetError(f"{name}: uploaded md5 {remote} does not match local md5 {md5}")
            return
        offset = size - TAIL_CHECK

        def tail() -> bytes:
            resource = self._resources().get_typed(name, "file")
            return bytes(
                self._resources()
                .read_resource(resource, offset=offset, read_size=TAIL_CHECK)
                .read()
            )

        remote_tail = self._call("read", tail, name)
        with open(path, "rb") as handle:
            handle.seek(offset)
            if handle.read(TAIL_CHECK) != remote_tail:
                raise TargetError(f"{name}: the uploaded object's last bytes differ from {path}")

    def leftovers(self, prefixes: Sequence[str]) -> builtins.list[ObjectInfo]:
        """Journals of envctl uploads that did not finish, and the parts they name that exist.

        Only journals under ``prefixes`` (the project is shared with other tools), and only
        part names the journal's own name implies, so a tampered journal cannot point gc at
        another object. Each entry carries the newest modification time of its upload, so an
        upload still sending parts stays younger than gc's grace period.
        """
        common = os.path.commonprefix(list(prefixes))  # noqa: RUF071 - name prefixes, not paths
        journals = [
            info
            for info in self.list(common)
            if info.name.startswith(tuple(prefixes)) and _JOURNAL.match(info.name)
        ]
        found: builtins.list[ObjectInfo] = []
        for journal in journals:
            parts = [p for p in (self.stat(n) for n in self._journal_parts(journal.name)) if p]
            newest = max([journal.modified, *(p.modified for p in parts)])
            found += [ObjectInfo(p.name, p.size, newest) for p in parts]
            found.append(ObjectInfo(journal.name, journal.size, newest))
        return sorted(found, key=lambda i: i.name)

    def _journal_parts(self, journal: str) -> builtins.list[str]:
        match = _JOURNAL.match(journal)
        assert match is not None
        stem = f"{match['object']}{PART_INFIX}{match['attempt']}."
        try:
            names = json.loads(self.read(journal)).get("parts", [])
        except (ObjectMissing, ValueError, AttributeError):
            return []
        return [n for n in names if isinstance(n, str) and n.startswith(stem) and _PART.search(n)]

    def delete_leftover(self, name: str) -> None:
        """Delete one part or journal ``leftovers`` returned (refuses any other name)."""
        if not (_PART.search(name) or _JOURNAL.match(name)):
            raise EnvctlError(f"{name!r} is not an upload part or journal in {self.url}")
        self.delete(name)

    def create_exclusive(self, name: str, data: bytes) -> None:
        self._call(
            "create",
            lambda: self.client.create_resource(name, "file", fileobj=data, schema=self.schema),
            name,
        )

    def delete(self, name: str) -> None:
        with contextlib.suppress(ObjectMissing):
            self._call(
                "delete", lambda: self.client.delete_resource(name, schema=self.schema), name
            )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
