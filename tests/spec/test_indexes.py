"""spec/indexes: ${VAR} expansion, credential-free URLs and credentials matched by host."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from envctl.errors import EnvctlError
from envctl.spec.indexes import (
    DEFAULT_INDEX_URL,
    auth_for,
    expand,
    index_urls,
    literal_password,
    open_url,
    strip_auth,
    with_variable_password,
)
from envctl.spec.loader import Environment


def test_expand_substitutes_variables_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDX_USER", "bot")
    monkeypatch.setenv("IDX_TOKEN", "s3cr3t")
    url = "https://${IDX_USER}:${IDX_TOKEN}@pypi.example.com/simple"
    assert expand(url) == "https://bot:s3cr3t@pypi.example.com/simple"
    assert expand("https://pypi.org/simple") == "https://pypi.org/simple"


def test_expand_names_an_unset_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDX_TOKEN", raising=False)
    with pytest.raises(EnvctlError, match="IDX_TOKEN, which is not set"):
        expand("https://u:${IDX_TOKEN}@pypi.example.com/simple")


def test_index_urls_default_to_pypi_and_keep_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDX_TOKEN", "t")
    plain = Environment(name="a", python="3.11")
    assert index_urls(plain) == [DEFAULT_INDEX_URL]
    env = Environment(
        name="b",
        python="3.11",
        index_url="https://u:${IDX_TOKEN}@one.example/simple",
        extra_index_urls=("https://two.example/simple",),
    )
    assert index_urls(env) == ["https://u:t@one.example/simple", "https://two.example/simple"]


@pytest.mark.parametrize(
    ("url", "literal"),
    [
        ("https://user:hunter2@pypi.example.com/simple", True),
        ("https://user:${TOKEN}@pypi.example.com/simple", False),
        ("https://${USER}:${TOKEN}@pypi.example.com/simple", False),
        ("https://user@pypi.example.com/simple", False),
        ("https://pypi.example.com/simple", False),
        ("https://user:pw@[::1/simple", False),  # unparsable: the schema reports the URL itself
    ],
)
def test_literal_password(url: str, literal: bool) -> None:
    assert literal_password(url) is literal


def test_with_variable_password_shows_a_safe_fix() -> None:
    fixed = with_variable_password("https://alice:hunter2@pypi.example.com/simple")
    assert fixed == "https://alice:${INDEX_TOKEN}@pypi.example.com/simple"
    assert "hunter2" not in fixed
    assert with_variable_password("https://:pw@h/simple", "TOK") == "https://user:${TOK}@h/simple"


def test_strip_auth() -> None:
    assert strip_auth("https://u:p@host/simple/x/") == "https://host/simple/x/"
    assert strip_auth("https://host/simple") == "https://host/simple"
    assert strip_auth("https://u:p@w@host/x") == "https://host/x"


def test_auth_for_matches_the_host_and_unquotes() -> None:
    indexes = ["https://pypi.org/simple", "https://bot:p%40ss@files.example.com/simple"]
    assert auth_for("https://files.example.com/packages/x.whl", indexes) == ("bot", "p@ss")
    assert auth_for("https://pypi.org/packages/x.whl", indexes) is None
    assert auth_for("https://elsewhere.example/x.whl", indexes) is None


class _Recorder(BaseHTTPRequestHandler):
    """Answers 200, or a redirect to ``self.server.redirect_to``; records each Authorization."""

    def do_GET(self) -> None:
        server = self.server
        server.seen.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        target = server.redirect_to if self.path.startswith("/simple/") else None  # type: ignore[attr-defined]
        self.send_response(302 if target else 200)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # the stdlib signature
        pass


@contextmanager
def _server(redirect_to: str = "") -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.redirect_to = redirect_to  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_to_another_host_never_carries_the_index_credentials() -> None:
    with _server() as cdn:
        # "localhost" is another host name than the index's "127.0.0.1" (same machine)
        with _server(f"http://localhost:{cdn.server_port}/files/x.whl") as index:
            indexes = [f"http://bot:s3cr3t@127.0.0.1:{index.server_port}/simple"]
            with open_url(f"http://127.0.0.1:{index.server_port}/simple/x/", indexes) as reply:
                assert reply.read() == b"ok"
    assert index.seen == [("/simple/x/", "Basic Ym90OnMzY3IzdA==")]  # bot:s3cr3t
    assert cdn.seen == [("/files/x.whl", None)]


def test_a_redirect_on_the_index_host_keeps_the_credentials() -> None:
    with _server() as files:
        indexes = [f"http://bot:s3cr3t@127.0.0.1:{files.server_port}/simple"]
        files.redirect_to = f"http://127.0.0.1:{files.server_port}/files/x.whl"
        with open_url(f"http://127.0.0.1:{files.server_port}/simple/x/", indexes) as reply:
            assert reply.read() == b"ok"
    assert files.seen == [
        ("/simple/x/", "Basic Ym90OnMzY3IzdA=="),
        ("/files/x.whl", "Basic Ym90OnMzY3IzdA=="),
    ]
