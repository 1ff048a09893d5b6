"""A PEP 503 simple index on 127.0.0.1 serving tiny distributions, for offline tests.

``LocalIndex.url`` goes into a spec's ``index_url``; links carry ``#sha256=`` fragments and
``data-requires-python`` like PyPI's, so pip and uv lock them with hashes. The server can be
stopped (to prove a build does no network work) and restarted on the same port.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Optional, Sequence

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from envctl.testing.wheels import STANDARD_DISTS, Dist, write_dist


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the stdlib signature
        pass


class _AuthHandler(_QuietHandler):
    """Answers 401 unless the request carries HTTP Basic credentials equal to ``expected``."""

    expected = ""  # the Authorization header value, set per server

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="envctl-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        self.do_GET()


def _project(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(filename)[0])
    return canonicalize_name(parse_sdist_filename(filename)[0])


def write_simple_index(root: Path, requires_python: Optional[dict[str, str]] = None) -> None:
    """(Re)generate ``root/simple`` for every file in ``root/files``.

    ``requires_python`` maps a file name (or a project name, for all its files) to the
    ``data-requires-python`` its link carries.
    """
    files = sorted((root / "files").iterdir())
    projects: dict[str, list[Path]] = {}
    for path in files:
        projects.setdefault(_project(path.name), []).append(path)
    simple = root / "simple"
    simple.mkdir(exist_ok=True)
    links = "".join(f'<a href="{name}/">{name}</a>\n' for name in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    for name, paths in projects.items():
        rows = []
        for path in paths:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            rp = (requires_python or {}).get(path.name) or (requires_python or {}).get(name)
            attr = f' data-requires-python="{html.escape(rp)}"' if rp else ""
            rows.append(
                f'<a href="../../files/{path.name}#sha256={digest}"{attr}>{path.name}</a>\n'
            )
        (simple / name).mkdir(exist_ok=True)
        (simple / name / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{''.join(rows)}</body></html>\n"
        )


@dataclass
class LocalIndex:
    """Tiny distributions in ``root/files`` served as a simple index at ``url``."""

    root: Path
    port: int = 0
    auth: Optional[tuple[str, str]] = None  # (user, password) every request must carry
    _server: Optional[ThreadingHTTPServer] = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        root: Path,
        dists: Sequence[Dist] = STANDARD_DISTS,
        auth: Optional[tuple[str, str]] = None,
    ) -> LocalIndex:
        rp = {}  # per file, like PyPI's data-requires-python
        for dist in dists:
            for path in write_dist(dist, root / "files"):
                if dist.requires_python:
                    rp[path.name] = dist.requires_python
        write_simple_index(root, rp)
        return cls(root, auth=auth)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple"

    def file(self, filename: str) -> Path:
        return self.root / "files" / filename

    def start(self) -> LocalIndex:
        handler_class: type[_QuietHandler] = _QuietHandler
        if self.auth is not None:
            token = base64.b64encode(":".join(self.auth).encode()).decode()
            handler_class = type("_Auth", (_AuthHandler,), {"expected": f"Basic {token}"})
        handler = functools.partial(handler_class, directory=str(self.root))
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Take the index offline for the block (any request now fails), then serve again."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def __enter__(self) -> LocalIndex:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
