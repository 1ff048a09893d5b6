"""A direct requirement URL may carry ``${VAR}`` credentials: expanded for pip, never on a
command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.build.builder import build
from envctl.build.cache import Cache
from envctl.lock.resolve import resolve_environment
from envctl.spec.loader import Environment
from envctl.testing.index import LocalIndex
from envctl.testing.wheels import STANDARD_DISTS
from tests.hardening.test_secrets import command_lines


def test_direct_url_credentials_reach_the_server_but_no_command_line(
    tmp_path: Path, envctl_cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "direct-url-secret-4711"
    monkeypatch.setenv("FILES_TOKEN", password)
    with LocalIndex.create(tmp_path / "index", STANDARD_DISTS, auth=("alice", password)) as index:
        base = index.url.rsplit("/simple", 1)[0].replace("http://", "http://alice:${FILES_TOKEN}@")
        index_url = index.url.replace("http://", "http://alice:${FILES_TOKEN}@")
        env = Environment(
            name="direct", python="3.11", index_url=index_url,
            requirements=(f"tinydep @ {base}/files/tinydep-1.0-py3-none-any.whl",),
        )  # fmt: skip
        with command_lines() as seen:
            lock = resolve_environment(env)
            built = build(env, lock, progress=False, cache=envctl_cache)
    assert [p.name for p in lock.packages] == ["tinydep"]
    assert "alice" not in lock.packages[0].url and password not in lock.packages[0].url
    assert built.packages == (("tinydep", "1.0"),)
    assert any("pip_driver" in c for c in seen)
    assert not [c for c in seen if password in c]
