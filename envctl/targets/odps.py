"""MaxCompute as a target: objects are project resources, driven through pyodps.

Archives are ``archive`` resources, metadata and pointers ``file`` resources. Uploads stream
in ``chunk_size`` parts (pyodps's part+merge protocol) so memory stays bounded, and every
call is retried with backoff on transient failures. Credentials: see
:mod:`envctl.targets.credentials` (an ``odps.ODPS`` entry, the environment, the cloud chain).
"""

from __future__ import annotations

import builtins
import hashlib
import os
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence, TypeVar

from envctl.errors import EnvctlError
from envctl.files import atomic_writer
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
    verify_uploaded,
)
from envctl.targets.retry import DEFAULT_ATTEMPTS, call_with_retries, is_transient

if TYPE_CHECKING:
    from odps import ODPS

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 16 << 20
"""One part is held in memory at a time while it is sent."""
READ_CHUNK = 1 << 20
PART_INFIX = ".part.tmp."
"""Part resources are ``<name>.part.tmp.<attempt6>.<index6>``, as pyodps names them."""
_PART = re.compile(re.escape(PART_INFIX) + r"\d{6}\.\d{6}$")


def credentials_from_env(variables: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """pyodps key-pair arguments from ``ALIBABA_CLOUD_*`` or a named target's ``variables``
    (``access_key_id_var``... of ``envctl.toml``); a one-line error when they are unset."""
    from envctl.targets.credentials import NO_CREDENTIALS, key_pair_from_variables

    found = key_pair_from_variables(variables or {}, required=bool(variables))
    if found is None:
        raise EnvctlError(NO_CREDENTIALS)
    return dict(found.kwargs)


def entry_location(entry: ODPS) -> tuple[str, str]:
    """``(project, endpoint)`` of an ``odps.ODPS`` entry, which must name a project."""
    if not getattr(entry, "project", None):
        raise EnvctlError("the odps.ODPS entry has no project: pass project= when creating it")
    return entry.project, entry.endpoint


class OdpsTarget(Target):
    """Resources of one MaxCompute project."""

    def __init__(
        self,
        project: str,
        endpoint: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        attempts: int = DEFAULT_ATTEMPTS,
        retry_wait: float = 0.5,
        credential_vars: Optional[Mapping[str, str]] = None,
        entry: Optional[ODPS] = None,
    ) -> None:
        """``entry``: an ``odps.ODPS`` whose account signs every request (see ``from_entry``)."""
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
        self.endpoint = endpoint
        self.chunk_size = chunk_size
        self.attempts = attempts
        self.retry_wait = retry_wait
        self.url = f"odps://{project}?endpoint={endpoint}"
        # pyodps's own retry layer is switched off: stacked under ours it multiplied the attempts
        # (a dead endpoint took ~20 s to report) and ignored ENVCTL_RETRY_WAIT_SCALE.
        try:
            self.client: ODPS = ODPS(project=project, endpoint=endpoint, overwrite_global=False,
                                     rest_client_kwargs={"retry_enabled": False}, **credentials)
        except TypeError:  # a pyodps without rest_client_kwargs: keep its retries
            self.client = ODPS(project=project, endpoint=endpoint, overwrite_global=False, **credentials)

    def clone(self) -> OdpsTarget:
        """A second client: pyodps caches resource objects per client, unsafe across threads."""
        return OdpsTarget(self.project, self.endpoint, chunk_size=self.chunk_size, attempts=self.attempts,
                          retry_wait=self.retry_wait, credential_vars=self.credential_vars,
                          entry=self.entry)

    @classmethod
    def from_entry(cls, entry: ODPS, **kwargs: Any) -> OdpsTarget:
        """The target of ``entry``'s project and endpoint, signed with its account."""
        return cls(*entry_location(entry), entry=entry, **kwargs)

    # -- SQL functions ------------------------------------------------------------------
    def list_functions(self) -> dict[str, FunctionInfo]:
        def listing() -> dict[str, FunctionInfo]:
            found = {}
            for function in self.client.list_functions():
                names = tuple(function._resources or ())  # names as listed: no lookups
                found[function.name] = FunctionInfo(function.name, function.class_type, names)
            return found

        return self._call("list", listing)

    def put_function(self, function: FunctionInfo) -> None:
        def put() -> None:
            if self.client.exist_function(function.name):
                existing = self.client.get_function(function.name)
                existing.reload()
                existing.class_type = function.class_type
                existing.resources = list(function.resources)
                existing.update()
            else:
                resources = list(function.resources)
                self.client.create_function(
                    function.name, class_type=function.class_type, resources=resources
                )

        self._call("write", put, function.name)

    def delete_function(self, name: str) -> None:
        def drop() -> None:
            if self.client.exist_function(name):
                self.client.delete_function(name)

        self._call("delete", drop, name)

    # -- plumbing ---------------------------------------------------------------------
    def _call(self, operation: str, fn: Callable[[], T], name: str = "") -> T:
        """Count, retry transient failures, and turn pyodps errors into target errors."""
        from odps import errors as odps_errors

        self._count(operation)
        try:
            return call_with_retries(fn, attempts=self.attempts, wait=self.retry_wait)
        except odps_errors.NoSuchProject:
            raise EnvctlError(f"MaxCompute project {self.project!r} does not exist at {self.endpoint}") from None
        except odps_errors.NoSuchObject:
            raise ObjectMissing(name) from None
        except odps_errors.ObjectAlreadyExists:
            raise ObjectExists(name) from None
        except (odps_errors.AuthorizationRequired, odps_errors.SignatureNotMatch, odps_errors.NoPermission) as exc:
            raise EnvctlError(f"MaxCompute refused {operation} {name}: {type(exc).__name__} (check the credentials)") from None
        except Exception as exc:
            if getattr(exc, "status_code", None) in (401, 403):  # whatever code the service names it
                raise EnvctlError(
                    f"MaxCompute refused {operation} {name}: HTTP {exc.status_code} {type(exc).__name__} "  # type: ignore[attr-defined]
                    "(check the credentials and the account's permissions on the project)"
                ) from None
            if is_transient(exc):
                raise TransientError(
                    f"{operation} {name} on {self.url} failed after {self.attempts} attempts: {_short(exc)}"
                ) from None
            if isinstance(exc, (odps_errors.ODPSError, OSError)):
                raise TargetError(f"{operation} {name} on {self.url} failed: {_short(exc)}") from None
            raise

    def _resources(self) -> Any:
        return self.client.get_project().resources

    @staticmethod
    def _info(resource: Any, md5: Optional[str] = None) -> ObjectInfo:
        modified = resource.last_modified_time
        return ObjectInfo(
            name=resource.name,
            size=int(resource.size or 0),
            modified=modified.timestamp() if modified is not None else 0.0,
            md5=md5,
            temp=bool(getattr(resource, "is_temp_resource", False) or False),
        )

    # -- the Target interface --------------------------------------------------------------
    def list(self, prefix: str) -> list[ObjectInfo]:
        def run() -> list[ObjectInfo]:
            return [self._info(r) for r in self.client.list_resources(prefix=prefix) if r.name.startswith(prefix)]

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
        with self.client.open_resource(name, mode="rb", type="file", stream=True) as handle:
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
                self.client.create_resource(name, "file", fileobj=data, temp=temp)
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
        size = path.stat().st_size

        def run() -> None:
            # MaxCompute's part+merge protocol, driven here with pyodps's own calls rather than
            # its stream writer: that writer merges whatever parts exist even when a part
            # failed (publishing a truncated archive) and holds each part three times over
            # (buffer, copy to send, copy to hash). Here a part is one bytes object, sent and
            # dropped; the service checks the merged md5. Parts of a failed attempt are temp.
            resources = self._resources()
            digest = hashlib.md5()
            parts: list[Any] = []
            attempt = random.randint(0, 999_999)
            try:
                with open(path, "rb") as handle:
                    while chunk := handle.read(self.chunk_size):
                        digest.update(chunk)
                        part_name = f"{name}{PART_INFIX}{attempt:06d}.{len(parts):06d}"
                        parts.append(resources.create(name=part_name, type="file", temp=True, part=True, fileobj=chunk))
                        if progress:
                            progress(len(chunk))
                        del chunk
                resource = resources.get_typed(name, kind, temp=temp)
                if parts:
                    resources.merge_part_files(resource, parts, digest.hexdigest(), overwrite=False)
                else:  # an empty file: nothing to merge
                    resource.create(overwrite=False, fileobj=b"")
            except Exception:
                self._drop_parts(name)
                raise

        self._call("upload", run, name)
        return verify_uploaded(name, self.stat(name), size, md5)

    def _drop_parts(self, name: str) -> None:
        """Best-effort removal of a failed attempt's part resources (they are temporary anyway)."""
        try:
            for part in self.client.list_resources(prefix=f"{name}{PART_INFIX}"):
                self.client.delete_resource(part.name)
        except Exception:  # noqa: BLE001 - cleanup must never mask the upload's own error
            pass

    def leftovers(self, prefixes: Sequence[str]) -> builtins.list[ObjectInfo]:
        """Part resources of uploads killed before the merge (the merge deletes its parts)."""
        common = os.path.commonprefix(list(prefixes))  # noqa: RUF071 - name prefixes, not paths
        return [i for i in self.list(common) if i.name.startswith(tuple(prefixes)) and _PART.search(i.name)]

    def delete_leftover(self, name: str) -> None:
        if not _PART.search(name):
            raise EnvctlError(f"{name!r} is not an upload part in {self.url}")
        self.delete(name)

    def create_exclusive(self, name: str, data: bytes) -> None:
        self._call("create", lambda: self.client.create_resource(name, "file", fileobj=data), name)

    def delete(self, name: str) -> None:
        try:
            self._call("delete", lambda: self.client.delete_resource(name), name)
        except ObjectMissing:
            pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
