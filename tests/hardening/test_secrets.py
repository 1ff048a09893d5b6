"""No secret leaks: the whole flow with a unique access key secret and index password, then grep everything.

The password reaches envctl the ways it may: ``${VAR}`` references in specs, ``ENVCTL_INDEX_URL``
for the runtime, a ``--target`` URL; and one way it may not (written into a spec), where
``validate`` must refuse it without echoing it.

Everything = stdout/stderr (fd level, so pip/uv subprocesses count too) of every command in
text, markdown, json and -v forms plus error paths, the saved plan, the lock files, every
object in the emulator's data dir, the project's state dir and envctl's cache.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
from tests.hardening.helpers import Repo, write_spec

from envctl.cli import main
from envctl.emulator import Emulator
from envctl.lock.lockfile import read_lock
from envctl.targets.odps import ACCESS_ID_VAR, SECRET_VAR
from envctl.testing.index import LocalIndex
from envctl.udf import resources_of, with_environment, with_python_requirements
from envctl.udf.resolution import clear_memo

pytestmark = pytest.mark.parametrize("target_url", ["odps"], indirect=True)


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


def test_whole_flow_never_prints_or_stores_a_secret(
    repo: Repo, local_index: LocalIndex, odps_emulator: Emulator, envctl_cache, capfd, monkeypatch, tmp_path: Path
) -> None:
    ak_secret, ak_id, password = (f"{kind}{uuid.uuid4().hex}" for kind in ("aksecret", "akid", "idxpass"))
    monkeypatch.setenv(SECRET_VAR, ak_secret)
    monkeypatch.setenv(ACCESS_ID_VAR, ak_id)
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.setenv("IDX_PASS", password)
    host = local_index.url.split("://", 1)[1]
    literal = f"http://alice:{password}@{host}"
    envdir = repo.root / "environments"
    for lock in envdir.glob("pylock.*.toml"):
        lock.unlink()
    # Specs reference the credentials as variables; their values must never show up anywhere.
    from_vars = "http://${IDX_USER}:${IDX_PASS}@" + host
    write_spec(envdir, "nlp", "3.11", "tinypure tinysdist", from_vars, extra_index_urls=[from_vars])
    write_spec(envdir, "etl", "3.7", "tinydep", from_vars)
    (envdir / "broken.yaml").write_text("name: broken\n")  # error paths, removed below
    # A password written into a spec is a validation problem whose message must not echo it.
    write_spec(envdir, "leaky", "3.11", "tinydep", literal)
    transcript: list[str] = []

    def step(expected: int, *args: str) -> str:
        capfd.readouterr()
        code = main(list(args))
        out, err = capfd.readouterr()
        typed = " ".join(args).replace(password, "<password>")  # what was typed is not output
        transcript.append(f"$ envctl {typed}\n{out}{err}")
        assert code == expected, f"envctl {' '.join(args)} -> {code}: {err}"
        return out

    assert "leaky.yaml:3:12: index_url embeds a literal password" in step(1, "-v", "validate")
    step(1, "validate", "--format", "json")
    (envdir / "broken.yaml").unlink()
    (envdir / "leaky.yaml").unlink()
    step(0, "-v", "validate")
    step(0, "-v", "lock")
    step(0, "lock", "--check", "--format", "json")
    step(0, "-v", "build", "nlp")
    step(0, "build", "etl", "--format", "json")
    step(2, "-v", "plan", "--detailed-exitcode")
    step(0, "plan", "--format", "markdown")
    step(0, "plan", "--format", "json")
    plan_file = tmp_path / "plan.json"
    step(0, "-v", "plan", "--out", str(plan_file))
    step(0, "-v", "apply", str(plan_file))
    step(0, "-v", "status")
    step(0, "status", "--format", "json")
    step(0, "-v", "gc", "--keep", "0", "--grace", "0s", "--dry-run")
    step(0, "gc", "--keep", "0", "--grace", "0s", "--format", "json")
    # A literal password in a --target endpoint (the CLI prints the target in errors).
    step(1, "-v", "apply", "--auto-approve", "--target", f"odps://envctl_test?endpoint=http://alice:{password}@127.0.0.1:9/api")
    etl_spec = (envdir / "etl.yaml").read_bytes()
    write_spec(envdir, "etl", "3.7", "tinydep", "http://${IDX_USER}:${IDX_PASS}@" + host.replace("/simple", "/gone"))
    step(1, "-v", "lock", "etl")  # the index answers 404: the error names the index
    (envdir / "etl.yaml").write_bytes(etl_spec)

    # The runtime: a named environment and an ad-hoc build with an index URL holding a password.
    monkeypatch.setenv("ENVCTL_INDEX_URL", literal)
    monkeypatch.setenv("ENVCTL_PYTHON", "3.11")
    clear_memo()
    capfd.readouterr()
    named = resources_of(with_environment("nlp")(len))
    adhoc = resources_of(with_python_requirements("tinydep")(len))
    out, err = capfd.readouterr()
    transcript.append(f"runtime {named} {adhoc}\n{out}{err}")
    assert named and adhoc

    locks = {path.name: read_lock(path) for path in envdir.glob("pylock.*.toml")}
    assert set(locks) == {"pylock.nlp.toml", "pylock.etl.toml"}
    assert all(not p.url.startswith("http://alice") for lock in locks.values() for p in lock.packages)
    haystack = {"transcript": "\n".join(transcript).encode()}
    stored = files_under(odps_emulator.data_dir, repo.root / ".envctl", envctl_cache.root)
    haystack.update({str(p): p.read_bytes() for p in [plan_file, *envdir.glob("pylock.*"), *stored]})
    assert len(haystack) > 10
    for secret in (ak_secret, password):
        leaks = [where for where, data in haystack.items() if secret.encode() in data]
        assert not leaks, f"{secret[:12]}... leaked into {leaks}"
    # The access key ID is an identifier, not a secret (MaxCompute records it as the owner),
    # but envctl still never prints it.
    assert ak_id.encode() not in haystack["transcript"]
    assert "http://***@127.0.0.1" in haystack["transcript"].decode(), "the -v output shows no (redacted) index URL"
