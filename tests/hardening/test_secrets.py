"""No secret leaks: the whole flow with a unique access key secret and index password, then grep
everything.

The password reaches envctl the ways it may: ``${VAR}`` references in specs, ``ENVCTL_INDEX_URL``
for the runtime, a ``--target`` URL; and one way it may not (written into a spec), where
``validate`` must refuse it without echoing it.

Everything = stdout/stderr (fd level, so pip/uv subprocesses count too) of every command in
text, markdown, json and -v forms plus error paths, the saved plan, the lock files, every
object in the emulator's data dir, the project's state dir and envctl's cache; plus the
command lines of every descendant process (any local user can read ``/proc/<pid>/cmdline``),
polled throughout, and the environment an sdist's build backend sees. The index demands the
credentials, so they do reach pip, the pip it starts for build requirements, uv and downloads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from envctl.cli import main
from envctl.emulator import Emulator
from envctl.lock.lockfile import read_lock
from envctl.settings import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from envctl.testing.index import LocalIndex
from envctl.testing.wheels import STANDARD_DISTS, Dist
from envctl.udf import ready as udf_ready
from envctl.udf import resources_of, with_environment, with_python_requirements
from envctl.udf.resolution import clear_memo
from tests.hardening.helpers import Repo, write_spec

pytestmark = pytest.mark.parametrize("target_url", ["odps"], indirect=True)


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


@contextmanager
def command_lines() -> Iterator[set[str]]:
    """Every command line of this process's descendants, sampled while the block runs."""
    seen: set[str] = set()
    stop = threading.Event()

    def poll() -> None:
        me = psutil.Process()
        while not stop.is_set():
            for child in me.children(recursive=True):
                try:
                    seen.add(" ".join(child.cmdline()))
                except psutil.Error:  # exited between listing and reading
                    pass
            stop.wait(0.002)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def test_whole_flow_never_prints_or_stores_a_secret(
    repo: Repo, odps_emulator: Emulator, envctl_cache, capfd, monkeypatch, tmp_path: Path
) -> None:
    ak_secret, ak_id, password = (
        f"{kind}{uuid.uuid4().hex}" for kind in ("aksecret", "akid", "idxpass")
    )
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, ak_secret)
    monkeypatch.setenv(ACCESS_KEY_ID.name, ak_id)
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.setenv("IDX_PASS", password)
    backend_env = tmp_path / "backend-env.txt"
    # An sdist with a build requirement (pip installs it from the index in a child pip) whose
    # build backend records the environment it runs in.
    recorder = Dist(
        "tinybuilt", "1.0", {"tinybuilt/__init__.py": ""}, tags=(), sdist=True,
        build_requires=("tinydep",),
        backend_prelude=(
            f"with open({str(backend_env)!r}, 'a') as f:\n"
            "    f.write(repr(dict(os.environ)))\n"
        ),
    )  # fmt: skip
    local_index = LocalIndex.create(
        tmp_path / "index", (*STANDARD_DISTS, recorder), auth=("alice", password)
    )
    local_index.start()
    host = local_index.url.split("://", 1)[1]
    literal = f"http://alice:{password}@{host}"
    envdir = repo.root / "environments"
    for lock in envdir.glob("pylock.*.toml"):
        lock.unlink()
    # Specs reference the credentials as variables; their values must never show up anywhere.
    from_vars = "http://${IDX_USER}:${IDX_PASS}@" + host
    write_spec(
        envdir,
        "nlp",
        "3.11",
        "tinypure tinysdist tinybuilt",
        from_vars,
        extra_index_urls=[from_vars],
    )
    write_spec(envdir, "etl", "3.7", "tinydep", from_vars, allow_sdist=False)
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
    with command_lines() as children:
        step(0, "-v", "lock", "--resolver", "pip")
        step(0, "-v", "lock", "etl", "--resolver", "uv")
        step(0, "-v", "lock", "nlp")  # the default: uv, verified in process over HTTP
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
    step(
        1,
        "-v",
        "apply",
        "--auto-approve",
        "--target",
        f"odps://envctl_test?endpoint=http://alice:{password}@127.0.0.1:9/api",
    )
    etl_spec = (envdir / "etl.yaml").read_bytes()
    write_spec(
        envdir,
        "etl",
        "3.7",
        "tinydep",
        "http://${IDX_USER}:${IDX_PASS}@" + host.replace("/simple", "/gone"),
    )
    step(1, "-v", "lock", "etl")  # the index answers 404: the error names the index
    (envdir / "etl.yaml").write_bytes(etl_spec)

    # The runtime: a named environment and an ad-hoc build with an index URL holding a password.
    monkeypatch.setenv("ENVCTL_INDEX_URL", literal)
    monkeypatch.setenv("ENVCTL_PYTHON", "3.11")
    monkeypatch.setenv("ENVCTL_ADHOC", "client")  # build here (the service mode sends no index URL)
    clear_memo()
    capfd.readouterr()
    with command_lines() as runtime_children:
        named = resources_of(with_environment("nlp")(len))
        adhoc = resources_of(with_python_requirements("tinydep")(len))
        udf_ready()  # the client build runs in the background: its children are watched too
    out, err = capfd.readouterr()
    transcript.append(f"runtime {named} {adhoc}\n{out}{err}")
    assert named and adhoc

    locks = {path.name: read_lock(path) for path in envdir.glob("pylock.*.toml")}
    assert set(locks) == {"pylock.nlp.toml", "pylock.etl.toml"}
    assert all(
        not p.url.startswith("http://alice") for lock in locks.values() for p in lock.packages
    )
    haystack = {"transcript": "\n".join(transcript).encode()}
    stored = files_under(odps_emulator.data_dir, repo.root / ".envctl", envctl_cache.root)
    haystack.update(
        {str(p): p.read_bytes() for p in [plan_file, *envdir.glob("pylock.*"), *stored]}
    )
    assert len(haystack) > 10
    for secret in (ak_secret, password):
        leaks = [where for where, data in haystack.items() if secret.encode() in data]
        assert not leaks, f"{secret[:12]}... leaked into {leaks}"
    # The access key ID is an identifier, not a secret (MaxCompute records it as the owner),
    # but envctl still never prints it.
    assert ak_id.encode() not in haystack["transcript"]
    assert "http://***@127.0.0.1" in haystack["transcript"].decode(), (
        "the -v output shows no (redacted) index URL"
    )
    local_index.stop()

    # No credential on any child's command line, in lock, build, sdist builds and ad-hoc builds.
    commands = children | runtime_children
    # Each kind of child is recognised by words on its command line, in any order (pip
    # releases order the arguments of their build-requirements child differently).
    kinds = {
        "pip resolver": {"envctl.lock.pip_driver"},
        "uv resolver": {"pip", "compile"},
        "sdist build": {"pip", "wheel", "--no-deps"},
        "pip installing build requirements": {
            "install",
            "--ignore-installed",
            "--no-user",
            "--prefix",
        },
    }
    missing = [
        kind for kind, words in kinds.items() if not any(words <= set(c.split()) for c in children)
    ]
    assert not missing, f"never saw a {missing} process: {sorted(children)}"
    assert any(
        "pip_driver" in c or {"pip", "compile"} <= set(c.split()) for c in runtime_children
    ), "the ad-hoc build resolved no requirements"
    leaks = [c for c in commands if password in c]
    assert not leaks, (
        f"index password on a command line: {leaks[0].replace(password, '<password>')[:300]}"
    )
    # The build backend (code from the index) ran without the cloud or index secrets.
    recorded = backend_env.read_text()
    assert "NETRC" in recorded
    for secret in (ak_secret, ak_id, password):
        assert secret not in recorded, f"{secret[:8]}... reached an sdist build backend"
