"""build/fetch: the locked files, hash-verified into the cache, retried only when transient."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envctl.build.cache import Cache
from envctl.build.fetch import HashMismatch, fetch
from envctl.errors import EnvctlError
from envctl.lock.lockfile import LockedFile
from envctl.spec.indexes import authorized_request
from envctl.testing.index import LocalIndex

PAYLOAD = b"not really a wheel, but bytes with a known hash"


class _Flaky(BaseHTTPRequestHandler):
    """Serves PAYLOAD after ``failures`` answers of ``status``; counts requests per path."""

    status = 503
    failures = 0
    seen: list[str]
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.seen.append(self.path)
            failing = len(self.seen) <= self.failures
        if failing or self.path.endswith("missing.whl"):
            self.send_response(404 if self.path.endswith("missing.whl") else self.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    handler = type("Handler", (_Flaky,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _locked(
    url: str, data: bytes = PAYLOAD, filename: str = "x-1.0-py3-none-any.whl"
) -> LockedFile:
    sha = hashlib.sha256(data).hexdigest()
    return LockedFile("x", "1.0", filename, url, sha, len(data), "wheel")


def _cache_leftovers(cache: Cache) -> list[Path]:
    files = cache.root / "files"
    return [p for p in files.rglob("*") if p.is_file()] if files.exists() else []


def test_locked_files_land_in_the_cache_and_are_not_fetched_twice(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    path = next(local_index.root.joinpath("files").glob("tinydep-*.whl"))
    data = path.read_bytes()
    file = _locked(f"http://127.0.0.1:{local_index.port}/files/{path.name}", data, path.name)
    got = fetch([file], cache, progress=False)
    assert got == {file.sha256: cache.file_path(file.sha256, path.name)}
    assert got[file.sha256].read_bytes() == data
    with local_index.stopped():  # the cache answers: no network at all
        assert fetch([file], cache, progress=False) == got


def test_a_hash_mismatch_is_an_error_and_caches_nothing(
    flaky: tuple[str, type[_Flaky]], tmp_path: Path
) -> None:
    base, _ = flaky
    cache = Cache(tmp_path / "cache")
    wrong = _locked(f"{base}/x.whl", data=b"what the lock expected")
    with pytest.raises(HashMismatch, match=r"sha256 mismatch for x-1\.0-py3-none-any\.whl"):
        fetch([wrong], cache, progress=False)
    assert _cache_leftovers(cache) == []


def test_transient_failures_are_retried(flaky: tuple[str, type[_Flaky]], tmp_path: Path) -> None:
    base, handler = flaky
    handler.failures = 2
    cache = Cache(tmp_path / "cache")
    file = _locked(f"{base}/x.whl")
    fetch([file], cache, progress=False)
    assert cache.file_path(file.sha256, file.filename).read_bytes() == PAYLOAD
    assert len(handler.seen) == 3


def test_a_missing_file_fails_at_once_naming_the_file_without_credentials(
    flaky: tuple[str, type[_Flaky]], tmp_path: Path
) -> None:
    base, handler = flaky
    host = base.split("://", 1)[1]
    file = _locked(f"{base}/missing.whl")
    indexes = [f"http://bot:s3cr3t@{host}/simple"]
    with pytest.raises(EnvctlError) as caught:
        fetch([file], Cache(tmp_path / "cache"), index_urls=indexes, progress=False)
    message = str(caught.value)
    assert "cannot download x-1.0-py3-none-any.whl" in message
    assert "s3cr3t" not in message
    assert len(handler.seen) == 1, "a 404 is not retried"


def test_credentials_go_only_to_the_index_host() -> None:
    indexes = ["https://bot:tok@files.example.com/simple"]
    same = authorized_request("https://files.example.com/packages/x.whl", indexes)
    assert same.get_header("Authorization") == "Basic Ym90OnRvaw=="  # bot:tok
    other = authorized_request("https://elsewhere.example/x.whl", indexes)
    assert other.get_header("Authorization") is None


def test_an_authenticated_index_gets_the_credentials(tmp_path: Path) -> None:
    index = LocalIndex.create(tmp_path / "index", auth=("bot", "p@ss"))
    with index:
        path = next(index.root.joinpath("files").glob("tinydep-*.whl"))
        file = _locked(
            f"http://127.0.0.1:{index.port}/files/{path.name}", path.read_bytes(), path.name
        )
        with pytest.raises(EnvctlError, match="cannot download"):
            fetch([file], Cache(tmp_path / "anonymous"), progress=False)
        authed = f"http://bot:p%40ss@127.0.0.1:{index.port}/simple"
        got = fetch([file], Cache(tmp_path / "cache"), index_urls=[authed], progress=False)
        assert got[file.sha256].read_bytes() == path.read_bytes()
