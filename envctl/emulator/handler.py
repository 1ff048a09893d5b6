"""HTTP request handler: MaxCompute resource REST API plus the ``/_emulator`` control API.

Bodies are streamed in fixed-size chunks (uploads to a temp file with a running md5,
downloads straight from the blob), so memory stays bounded whatever the resource size.

The REST API lives only under the endpoint's ``/api`` path, as on the service; anything else
gets a gateway-style 404 that is not a MaxCompute error. Every request must name the bound
address in ``Host`` (DNS rebinding), and ``/_emulator/*`` needs the run's control token and
JSON bodies (a web page cannot forge either with a CORS "simple request").
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import json
import logging
import re
import socket
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator, Optional
from urllib.parse import quote

from envctl.emulator import errors, functions, protocol, signing
from envctl.emulator.errors import ServiceError
from envctl.emulator.faults import FaultRule
from envctl.emulator.store import Incoming, ResourceMeta

if TYPE_CHECKING:
    from envctl.emulator.server import Emulator

log = logging.getLogger("envctl.emulator")

CHUNK = 1 << 20
MAX_MANIFEST = 1 << 20
CONTROL_PREFIX = "/_emulator"
TOKEN_HEADER = "X-Envctl-Emulator-Token"
TOTAL_BYTES_HEADER = "x-odps-resource-merge-total-bytes"
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")
GATEWAY_NOT_FOUND = (
    b"<html><head><title>404 Not Found</title></head>"
    b"<body><center><h1>404 Not Found</h1></center></body></html>\n"
)
"""What a front end answers for a path outside the API: deliberately not a MaxCompute error."""


class _Dropped(Exception):
    """The connection was closed on purpose by a ``drop`` fault."""


class _BadRequest(Exception):
    """Unusable HTTP framing or encoding: answered 400 by the front end, connection closed."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "envctl-emulator"
    emulator: Emulator

    # -- plumbing -------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        self.request_id = uuid.uuid4().hex[:24].upper()
        self._remaining: Optional[int] = None
        self._chunked = False
        try:
            if not self.emulator.host_allowed(self.headers.get("Host")):
                raise _BadRequest(f"Host {self.headers.get('Host')!r} is not this emulator")
            self._init_body()
            path, query = protocol.split_target(_utf8(self.path, "request path"))
            prefix = self.emulator.path_prefix
            if path.startswith(CONTROL_PREFIX + "/") or path == CONTROL_PREFIX:
                self._control(path[len(CONTROL_PREFIX) :], query)
            elif path.startswith(prefix + "/"):
                self._api(path[len(prefix) :], query)
            else:
                self._gateway_not_found()
        except _Dropped:
            self.close_connection = True
        except _BadRequest as exc:
            self._send_plain(400, f"400 Bad Request: {exc}\n")
        except ServiceError as exc:
            if exc.close:
                self.close_connection = True
            else:
                self._drain()
            self._send_error(exc)
        except (ConnectionError, TimeoutError, socket.timeout) as exc:
            log.debug("client went away: %s", exc)
            self.close_connection = True
        except Exception:  # an emulator bug: answer like the service's own 500, keep serving
            log.exception("emulator failed on %s %s", self.command, self.path)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send_error(
                    ServiceError(500, "InternalServerError", "emulator internal error")
                )

    def _gateway_not_found(self) -> None:
        self._drain()
        self._send(404, GATEWAY_NOT_FOUND, content_type="text/html", request_id=False)

    def _send_plain(self, status: int, text: str) -> None:
        """A front-end answer (not MaxCompute's XML) that also ends the connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._send(
                status, text.encode(), {"Connection": "close"}, "text/plain", request_id=False
            )

    # -- request bodies ------------------------------------------------------------
    def _init_body(self) -> None:
        """Framing of the body: chunked, or a Content-Length that must be a plain integer."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._chunked = True
            self._chunk_left = 0
            self._chunks_done = False
            return
        values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if len(values) > 1 or any(not (v.isascii() and v.isdigit()) for v in values):
            raise _BadRequest("Content-Length must be one non-negative integer")
        self._remaining = int(values.pop()) if values else 0

    @property
    def declared_length(self) -> Optional[int]:
        return None if self._chunked else self._remaining

    def _read(self, limit: int) -> bytes:
        """Up to ``limit`` body bytes; ``b""`` at the end of the body."""
        if not self._chunked:
            if not self._remaining:
                return b""
            data = self.rfile.read(min(limit, self._remaining))
            if not data:
                raise ConnectionError("request body truncated")
            self._remaining -= len(data)
            self.emulator.stats.add_bytes(received=len(data))
            return data
        if self._chunks_done:
            return b""
        if self._chunk_left == 0:
            size_line = self.rfile.readline(1024)
            if not size_line:
                raise ConnectionError("chunked body truncated")
            size_text = size_line.split(b";")[0].strip().decode("latin-1")
            if not _HEX.fullmatch(size_text):
                raise _BadRequest("invalid chunk size")
            self._chunk_left = int(size_text, 16)
            if self._chunk_left == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._chunks_done = True
                return b""
        data = self.rfile.read(min(limit, self._chunk_left))
        if not data:
            raise ConnectionError("chunked body truncated")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self.rfile.readline(1024)  # CRLF after the chunk
        self.emulator.stats.add_bytes(received=len(data))
        return data

    def _body_chunks(self) -> Iterator[bytes]:
        while chunk := self._read(CHUNK):
            yield chunk

    def _drain(self) -> None:
        """Consume an unread body so the keep-alive connection stays in sync."""
        try:
            for _ in self._body_chunks():
                pass
        except (ConnectionError, ValueError, OSError, _BadRequest):
            self.close_connection = True

    def _spool(self, incoming: Incoming, limit: int) -> None:
        for chunk in self._body_chunks():
            if incoming.size + len(chunk) > limit:
                raise _closing(errors.resource_too_large(incoming.size + len(chunk), limit))
            incoming.write(chunk)

    # -- responses -------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: Optional[dict[str, str]] = None,
        content_type: str = "application/xml",
        *,
        request_id: bool = True,
    ) -> None:
        self.send_response(status)
        if request_id:
            self.send_header("x-odps-request-id", self.request_id)
        if body or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
            self.emulator.stats.add_bytes(sent=len(body))

    def _send_error(self, exc: ServiceError) -> None:
        headers = {"Connection": "close"} if self.close_connection else None
        self._send(exc.status, errors.error_body(exc.code, exc.message, self.request_id), headers)

    def _send_json(self, status: int, data: Any) -> None:
        self._send(
            status, json.dumps(data, sort_keys=True).encode(), content_type="application/json"
        )

    def _abort(self) -> None:
        """Close the socket without an answer, as a crashed front end or a cut link would."""
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _Dropped()

    # -- the MaxCompute API ----------------------------------------------------------
    def _api(self, path: str, query: dict[str, str]) -> None:
        emulator = self.emulator
        method = self.command.upper()
        target = protocol.route(method, path, query)
        emulator.stats.record(method, target.kind)
        for rule in emulator.faults.decide(method, path, target.kind):
            self._apply_fault(rule)
        authorization = self.headers.get("Authorization")
        if not authorization and self.headers.get("x-odps-bearer-token"):
            authorization = "ODPS bearer-token:"  # pyodps's BearerTokenAccount signs nothing
        if not authorization:
            raise errors.unauthorized()
        keys = emulator.signing_keys
        if keys:
            signing.verify(method, self.path, self.headers, emulator.path_prefix, keys)
        owner = protocol.owner_from_authorization(authorization)
        handler = getattr(self, f"_api_{target.kind}", None)
        if handler is None:
            raise errors.not_implemented(path)
        handler(target, query, owner)

    def _apply_fault(self, rule: FaultRule) -> None:
        if rule.action == "latency":
            time.sleep(rule.delay)
        elif rule.action == "error":
            raise errors.injected(rule.status)
        elif rule.action == "drop":
            declared = self.declared_length
            after = rule.after_bytes if rule.after_bytes is not None else (declared or 0) // 2
            consumed = 0
            while consumed < after and (chunk := self._read(min(CHUNK, after - consumed))):
                consumed += len(chunk)
            self._abort()

    def _api_tenant(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        self._send(200, protocol.tenant_json(owner), content_type="application/json")

    def _api_host(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        self._send(200, b"", content_type="text/plain")

    def _api_logs(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        self._send(200)

    def _api_project(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        if self.command not in ("GET", "HEAD"):
            raise errors.method_not_allowed(self.command, self.path)
        assert target.project is not None
        created = self.emulator.store.project_created(target.project)
        headers = {
            "x-odps-owner": owner,
            "x-odps-creation-time": protocol.http_date(created),
            "Last-Modified": protocol.http_date(created),
        }
        self._send(200, protocol.project_xml(target.project, owner), headers)

    def _api_list(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        assert target.project is not None
        limit = self.emulator.list_page_size
        if query.get("maxitems"):
            try:
                limit = max(1, min(int(query["maxitems"]), 1000))
            except ValueError:
                raise errors.invalid_parameter("maxitems must be an integer") from None
        page, marker = self.emulator.store.list_page(
            target.project,
            target.schema,
            prefix=query.get("name", ""),
            marker=query.get("marker", ""),
            limit=limit,
        )
        self._send(200, protocol.resource_list_xml(page, marker, limit))

    def _api_meta(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        meta = self._lookup(target)
        meta = dataclasses.replace(meta, md5=self.emulator.store.content_md5(meta))
        headers = protocol.meta_headers(meta, self.emulator.meta_md5)
        self._send(200, b"", headers, content_type="application/octet-stream")

    def _api_read(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        meta = self._lookup(target)
        try:
            offset = int(query.get("rOffset") or 0)
            size = int(query["rSize"]) if query.get("rSize") else None
        except ValueError:
            raise errors.invalid_parameter("rOffset/rSize must be integers") from None
        if offset < 0 or offset > meta.size or (size is not None and size < 0):
            raise errors.invalid_parameter(
                f"read range starts outside the resource (size {meta.size})"
            )
        length = meta.size - offset if size is None else min(size, meta.size - offset)
        try:
            handle = self.emulator.store.open_content(meta)
        except FileNotFoundError:  # replaced or deleted between lookup and open
            raise errors.no_such_object(f"resource '{meta.name}'") from None
        with handle:
            self._stream_out(handle, meta, offset, length)

    def _stream_out(self, handle: BinaryIO, meta: ResourceMeta, offset: int, length: int) -> None:
        self.send_response(200)
        self.send_header("x-odps-request-id", self.request_id)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("x-odps-resource-size", str(meta.size))
        self.send_header(
            "x-odps-resource-has-remaining", "true" if offset + length < meta.size else "false"
        )
        self.send_header("Last-Modified", protocol.http_date(meta.modified))
        self.end_headers()
        if self.command == "HEAD":
            return
        handle.seek(offset)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                raise ConnectionError("blob shorter than its metadata")
            self.wfile.write(chunk)
            left -= len(chunk)
            self.emulator.stats.add_bytes(sent=len(chunk))

    def _api_delete(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        assert target.project is not None and target.name is not None
        self.emulator.store.delete(target.project, target.schema, target.name)
        self._send(204)

    # -- SQL functions (envctl.emulator.functions) -------------------------------------
    def _function_body(self, target: protocol.Route, owner: str) -> functions.FunctionRecord:
        assert target.project is not None
        body = b"".join(self._body_chunks())
        name, class_type, resources = functions.parse_function_xml(body)
        for reference in resources:  # fidelity: the service refuses a missing resource
            project, schema, resource = functions.resource_location(reference, target.project)
            same = project == target.project
            self.emulator.store.get(project, schema or (target.schema if same else None), resource)
        return functions.new_record(name, class_type, resources, owner)

    def _api_function_create(
        self, target: protocol.Route, query: dict[str, str], owner: str
    ) -> None:
        assert target.project is not None
        record = self._function_body(target, owner)
        self.emulator.functions.save(target.project, target.schema, record, create=True)
        self._send(
            201,
            headers={
                "Location": f"{self.emulator.endpoint}/projects/"
                f"{quote(target.project, safe='')}/registration/functions/"
                f"{quote(record.name, safe='')}"
            },
        )

    def _api_function_update(
        self, target: protocol.Route, query: dict[str, str], owner: str
    ) -> None:
        assert target.project is not None and target.name is not None
        if "updateowner" in query:
            raise errors.not_implemented(self.path)
        record = self._function_body(target, owner)
        if record.name != target.name:
            raise errors.invalid_parameter("a function cannot be renamed")
        old = self.emulator.functions.get(target.project, target.schema, target.name)
        record.owner, record.created = old.owner, old.created
        self.emulator.functions.save(target.project, target.schema, record, create=False)
        self._send(200)

    def _api_function_get(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        assert target.project is not None and target.name is not None
        record = self.emulator.functions.get(target.project, target.schema, target.name)
        self._send(200, functions.function_xml(record, protocol.http_date))

    def _api_function_delete(
        self, target: protocol.Route, query: dict[str, str], owner: str
    ) -> None:
        self._drain()
        assert target.project is not None and target.name is not None
        self.emulator.functions.delete(target.project, target.schema, target.name)
        self._send(204)

    def _api_function_list(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._drain()
        assert target.project is not None
        limit = self.emulator.list_page_size
        page, marker = self.emulator.functions.page(
            target.project, target.schema, prefix=query.get("name", ""),
            marker=query.get("marker", ""), limit=limit,
        )  # fmt: skip
        self._send(200, functions.function_list_xml(page, marker, limit, protocol.http_date))

    def _lookup(self, target: protocol.Route) -> ResourceMeta:
        assert target.project is not None and target.name is not None
        return self.emulator.store.get(target.project, target.schema, target.name)

    # -- uploads -------------------------------------------------------------------
    def _upload_fields(self, target: protocol.Route) -> tuple[str, str, Optional[str], bool]:
        """Name, type, comment and temp flag of an upload, checked before any body byte is read.

        Why first: a refused name must not leave a spooled blob behind (F8).
        """
        header = self.headers.get("x-odps-resource-name")
        try:
            name = _utf8(header, "x-odps-resource-name") if header else target.name
        except _BadRequest as exc:
            raise errors.invalid_parameter(str(exc)) from None
        if not name:
            raise errors.invalid_parameter("missing x-odps-resource-name header")
        protocol.check_name(name)
        if target.name and name.lower() != target.name.lower():
            raise errors.invalid_parameter("x-odps-resource-name does not match the resource path")
        rtype = (self.headers.get("x-odps-resource-type") or "").upper()
        if rtype not in protocol.FILE_TYPES:
            raise errors.invalid_parameter(
                f"unsupported resource type {rtype or '<missing>'!r} "
                "(emulated: file, archive, py, jar)"
            )
        comment = self.headers.get("x-odps-comment")
        is_temp = (self.headers.get("x-odps-resource-istemp") or "").lower() == "true"
        return name, rtype, comment, is_temp

    def _api_create(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._upload(target, owner, overwrite=False)

    def _api_part(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._upload(target, owner, overwrite=False, is_part=True)

    def _api_replace(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        self._upload(target, owner, overwrite=True)

    def _upload(
        self, target: protocol.Route, owner: str, *, overwrite: bool, is_part: bool = False
    ) -> None:
        assert target.project is not None
        name, rtype, comment, is_temp = self._upload_fields(target)
        limit = self.emulator.max_resource_size
        declared = self.declared_length
        if declared is not None and declared > limit:
            raise _closing(errors.resource_too_large(declared, limit))
        store = self.emulator.store
        with store.receive(hashed=not is_part) as incoming:
            self._spool(incoming, limit)
            blob = store.adopt(incoming)
        store.publish(
            target.project,
            target.schema,
            blob,
            name=name,
            type=rtype,
            owner=owner,
            comment=comment,
            is_temp=is_temp,
            overwrite=overwrite,
            is_part=is_part,
        )
        self._send(
            200 if overwrite else 201, headers={"Location": self._location(target.project, name)}
        )

    def _api_merge(self, target: protocol.Route, query: dict[str, str], owner: str) -> None:
        """pyodps's chunked upload: concatenate named part uploads, verify the md5.

        Header and manifest are checked before the store is touched; the store then refuses
        in the order measured on the live service (see ``ResourceStore.merge``). The declared
        total is required but, as live, not compared with the parts (only with the limit).
        """
        assert target.project is not None
        overwrite = self.command == "PUT"
        name, rtype, comment, is_temp = self._upload_fields(target)
        body = b"".join(self._body_chunks_capped(MAX_MANIFEST))
        total_text = self.headers.get(TOTAL_BYTES_HEADER)
        if total_text is None:
            raise errors.missing_header(TOTAL_BYTES_HEADER)
        try:
            md5, part_names = protocol.parse_merge_manifest(body)
            total = int(total_text)
        except ValueError as exc:
            raise errors.invalid_parameter(f"bad merge request: {exc}") from None
        limit = self.emulator.max_resource_size
        if total > limit:
            raise errors.resource_too_large(total, limit)
        self.emulator.store.merge(
            target.project,
            target.schema,
            name=name,
            part_names=part_names,
            md5=md5,
            type=rtype,
            owner=owner,
            comment=comment,
            is_temp=is_temp,
            overwrite=overwrite,
            limit=limit,
        )
        self._send(
            200 if overwrite else 201, headers={"Location": self._location(target.project, name)}
        )

    def _body_chunks_capped(self, cap: int) -> Iterator[bytes]:
        received = 0
        for chunk in self._body_chunks():
            received += len(chunk)
            if received > cap:
                raise _closing(errors.invalid_parameter("request body too large"))
            yield chunk

    def _location(self, project: str, name: str) -> str:
        project_part, name_part = quote(project, safe=""), quote(name, safe="")
        return f"{self.emulator.endpoint}/projects/{project_part}/resources/{name_part}"

    # -- control API -------------------------------------------------------------------
    def _control(self, path: str, query: dict[str, str]) -> None:
        """The test-control API: token first, JSON only, then the operation."""
        token = self.headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(token.encode("latin-1"), self.emulator.control_token.encode()):
            self.close_connection = True
            self._send_json(403, {"error": f"missing or wrong {TOKEN_HEADER}"})
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in ("", "application/json"):
            self.close_connection = True
            self._send_json(415, {"error": "control requests take application/json"})
            return
        body = (
            b"".join(self._body_chunks_capped(MAX_MANIFEST))
            if self.command in ("POST", "PUT")
            else b""
        )
        self._drain()
        if body.strip() and content_type != "application/json":
            self._send_json(415, {"error": "control requests take application/json"})
            return
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            self._send_json(400, {"error": "body is not JSON"})
            return
        emulator = self.emulator
        key = (self.command, path.rstrip("/"))
        try:
            if key == ("GET", "/stats"):
                self._send_json(200, emulator.stats.snapshot())
            elif key == ("GET", "/faults"):
                self._send_json(200, {"faults": emulator.faults.rules()})
            elif key == ("POST", "/faults"):
                rules = data if isinstance(data, list) else [data]
                added = [emulator.faults.add_from_json(rule).public() for rule in rules]
                self._send_json(201, {"faults": added})
            elif key == ("DELETE", "/faults"):
                emulator.faults.clear()
                self._send_json(200, {"faults": []})
            elif key == ("POST", "/reset"):
                emulator.reset(data=bool(data.get("data", False)))
                self._send_json(200, {"reset": True})
            elif key in (("GET", "/config"), ("POST", "/config")):
                if key[0] == "POST":
                    emulator.configure(**data)
                self._send_json(200, emulator.config())
            else:
                self._send_json(
                    404, {"error": f"no control endpoint {self.command} {CONTROL_PREFIX}{path}"}
                )
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"error": str(exc)})


def _closing(exc: ServiceError) -> ServiceError:
    """The refusal, answered at once with ``Connection: close`` (the body is not read)."""
    exc.close = True
    return exc


def _utf8(value: str, what: str) -> str:
    """Undo http.server's latin-1 decoding: names arrive as UTF-8 bytes, as on the service."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise _BadRequest(f"{what} is not valid UTF-8") from None
