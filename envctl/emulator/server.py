"""The emulator's lifecycle: a stdlib threading HTTP server over a :class:`ResourceStore`.

Runs in a background thread for in-process tests (``with Emulator(tmp) as emu: ...``) or in
the foreground for ``envctl emulator``; either way clients use :attr:`Emulator.endpoint`
exactly like a MaxCompute endpoint.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import quote

from envctl import settings
from envctl.emulator import protocol
from envctl.emulator.faults import FaultInjector, RequestStats
from envctl.emulator.functions import FunctionStore
from envctl.emulator.handler import TOKEN_HEADER, Handler
from envctl.emulator.store import ResourceStore

MIB = 1024 * 1024
DEFAULT_MAX_RESOURCE_SIZE = 2048 * MIB
DEFAULT_LIST_PAGE_SIZE = 1000
PATH_PREFIX = "/api"
POLL_INTERVAL = (
    0.05  # how quickly stop() is noticed; stdlib default 0.5 s adds up over a test suite
)
DEFAULT_REQUEST_TIMEOUT = 60.0
"""Seconds a connection may sit idle mid-request before it is closed (slow-body defence)."""
DEFAULT_MAX_CONNECTIONS = 64
RECEIVE_BUFFER = 4 * MIB
"""Socket receive buffer asked for (the kernel caps it at ``net.core.rmem_max``)."""
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Connection: close\r\nContent-Length: 32\r\n\r\ntoo many connections, try again\n"
)
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class _Server(ThreadingHTTPServer):
    """A threading server with a cap on concurrent connections (one thread each).

    Why: without a cap, slow clients hold a thread and a spool file each without bound (F8).
    Over the cap a connection is answered 503 and closed at once.
    """

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: Any, max_connections: int) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self._active = 0
        self._active_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Bind with a large receive buffer, inherited by every accepted connection.

        Why: part bodies of 16 MiB arrive on several connections at once, often while their
        request sleeps in injected latency; with the default buffer (autotuned up from 128 KiB)
        senders stall and each part costs far more system time (measured: parallel parts
        sent 1.5x faster). Set on the listening socket, before ``listen``, so the window scale
        agreed at the handshake matches; set on a connection afterwards, it can stall it.
        """
        with contextlib.suppress(OSError):  # a platform without it: the default buffer
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        super().server_bind()

    @property
    def active_connections(self) -> int:
        return self._active

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        self._count(+1)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        self._count(-1)
        self._slots.release()

    def _count(self, delta: int) -> None:
        with self._active_lock:
            self._active += delta


class Emulator:
    """A local MaxCompute resource API. Any project name is accepted and created on first use."""

    signing_keys: Optional[dict[str, str]] = None
    """Strict mode: ``{access id: secret}``; when set, a request not validly signed by one of
    these keys gets the service's 401 SignatureNotMatch (see ``envctl.emulator.signing``)."""

    def __init__(
        self,
        data_dir: Union[str, Path],
        host: str = "127.0.0.1",
        port: int = 0,
        max_resource_size: int = DEFAULT_MAX_RESOURCE_SIZE,
        list_page_size: int = DEFAULT_LIST_PAGE_SIZE,
        *,
        control_token: Optional[str] = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        """``control_token`` guards ``/_emulator/*`` (default: ``ENVCTL_EMULATOR_TOKEN``, else
        a fresh random one per run)."""
        self.data_dir = Path(data_dir)
        self.control_token = (
            control_token or settings.EMULATOR_TOKEN.get() or secrets.token_urlsafe(24)
        )
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.host = host
        self.port = port
        self.max_resource_size = max_resource_size
        self.list_page_size = list_page_size
        self.path_prefix = PATH_PREFIX
        self.meta_md5 = "hex"
        self.store = ResourceStore(self.data_dir)
        self.functions = FunctionStore(self.data_dir)
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle -------------------------------------------------------------------
    def bind(self) -> _Server:
        """Listen on the socket (fails early on a busy port); :meth:`start` does this for you."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        handler = type(
            "BoundHandler", (Handler,), {"emulator": self, "timeout": self.request_timeout}
        )
        self._server = _Server((self.host, self.port), handler, self.max_connections)
        self.port = self._server.server_address[1]
        return self._server

    def start(self) -> Emulator:
        """Serve from a daemon thread; returns once the socket is listening."""
        server = self.bind()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name="envctl-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` or KeyboardInterrupt."""
        server = self._server or self.bind()
        try:
            server.serve_forever(poll_interval=POLL_INTERVAL)
        finally:
            server.server_close()
            self.store.close()
            self._server = None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        self.store.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def active_connections(self) -> int:
        """Connections being served now (tests poll this instead of sleeping)."""
        return self._server.active_connections if self._server is not None else 0

    # -- addresses -------------------------------------------------------------------
    def host_allowed(self, value: Optional[str]) -> bool:
        """Whether a request's ``Host`` names this emulator (DNS rebinding defence, F3).

        Accepted: the bound address with the bound port; for a loopback binding also the other
        loopback spellings; for a wildcard binding any IP literal, ``localhost`` or this
        machine's host name (a rebinding attack needs a DNS name it controls).
        """
        if not value:
            return False
        host, _, port = value.strip().rpartition(":")
        if not host or port != str(self.port):
            return False
        host = host.lower().strip("[]")
        bound = self.host.lower().strip("[]")
        if bound in ("", "0.0.0.0", "::"):
            return _is_ip(host) or host in _LOOPBACK_NAMES or host == socket.gethostname().lower()
        if bound in _LOOPBACK_NAMES or (_is_ip(bound) and ipaddress.ip_address(bound).is_loopback):
            return host == bound or host in _LOOPBACK_NAMES
        return host == bound

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """What pyodps takes as ``endpoint=`` (the service's ``/api`` root)."""
        return self.base_url + self.path_prefix

    @property
    def control_url(self) -> str:
        return self.base_url + "/_emulator"

    def target_url(self, project: str) -> str:
        """The ``odps://<project>?endpoint=<url>`` target envctl's ``--target`` takes."""
        return f"odps://{quote(project, safe='')}?endpoint={quote(self.endpoint, safe=':/')}"

    # -- test controls -------------------------------------------------------------------
    def reset(self, data: bool = False) -> None:
        """Clear fault rules and counters; with ``data=True`` also forget every resource."""
        self.faults.clear()
        self.stats.reset()
        if data:
            self.store.wipe()

    def backdate(
        self, project: str, name: str, seconds: float, schema: Optional[str] = None
    ) -> None:
        """Make resource ``name`` look ``seconds`` older (its created and modified times), so
        tests of expiry need not wait for a TTL to lapse."""
        self.store.backdate(project, schema, name, seconds)

    def control_headers(self) -> dict[str, str]:
        """Headers a client of ``/_emulator/*`` sends (the run's token)."""
        return {TOKEN_HEADER: self.control_token}

    def config(self) -> dict[str, Any]:
        return {
            "max_resource_size": self.max_resource_size,
            "list_page_size": self.list_page_size,
            "meta_md5": self.meta_md5,
        }

    def configure(
        self,
        max_resource_size: Optional[int] = None,
        list_page_size: Optional[int] = None,
        meta_md5: Optional[str] = None,
    ) -> None:
        """Change limits at run time (also reachable as ``POST /_emulator/config``).

        ``meta_md5``: how ``?meta`` sends ``Content-MD5`` - ``hex`` (default), ``base64`` or
        ``absent``. The live format was not measured, so clients are tested against all three.
        """
        if meta_md5 is not None:
            if meta_md5 not in protocol.MD5_FORMATS:
                raise ValueError(f"meta_md5 must be one of {', '.join(protocol.MD5_FORMATS)}")
            self.meta_md5 = meta_md5
        if max_resource_size is not None:
            if int(max_resource_size) < 1:
                raise ValueError("max_resource_size must be positive")
            self.max_resource_size = int(max_resource_size)
        if list_page_size is not None:
            if not 1 <= int(list_page_size) <= 1000:
                raise ValueError("list_page_size must be between 1 and 1000")
            self.list_page_size = int(list_page_size)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
