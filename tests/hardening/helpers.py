"""Helpers and fixtures for hardening tests: real `envctl` subprocesses against the local store
and the emulator.

Locking is the slow step, so every spec variant is locked once per session into a template;
each test copies the variant it needs into its own repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
import yaml

from envctl.crashpoints import WAIT_VAR, reached_path
from envctl.deploy.observe import observe, read_state
from envctl.deploy.state import LEASE_OBJECT, State
from envctl.lock.lockfile import write_lock
from envctl.lock.resolve import resolve_environment
from envctl.spec.project import Project
from envctl.targets import Target, open_target
from envctl.testing.index import LocalIndex
from tests.deploy.helpers import run as run  # the hardening tests import it from here

CLI_TIMEOUT = 120
WAIT_TIMEOUT = 180.0
"""Deadline for any condition a test polls for (generous: other test runs share the cores)."""
POLL = 0.02
VARIANTS = {
    # nlp packs ~1 MiB (tinybig), so uploads take several chunks/parts.
    "a": {"nlp": ("3.11", "tinypure tinybig"), "etl": ("3.7", "tinydep")},
    "b": {"nlp": ("3.11", "tinypure tinybig tinydep"), "etl": ("3.7", "tinydep")},
}


def write_spec(
    envdir: Path, name: str, python: str, requirements: str, index_url: str, **fields: object
) -> None:
    envdir.mkdir(parents=True, exist_ok=True)
    data = {
        "name": name,
        "python": python,
        "index_url": index_url,
        "requirements": requirements.split(),
        **fields,
    }
    (envdir / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def lock_all(root: Path) -> None:
    project = Project(root)
    for name, env in project.environments().items():
        write_lock(project.lock_path(name), resolve_environment(env))


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, local_index: LocalIndex) -> dict[str, Path]:
    """Locked repositories, one per entry of ``VARIANTS``."""
    base = tmp_path_factory.mktemp("templates")
    out = {}
    for variant, envs in VARIANTS.items():
        root = base / variant
        for name, (python, reqs) in envs.items():
            write_spec(root / "environments", name, python, reqs, local_index.url)
        lock_all(root)
        out[variant] = root
    return out


@dataclass
class Repo:
    """One test's checkout; ``use`` swaps in another locked variant of one environment."""

    root: Path
    templates: dict[str, Path]

    def use(self, variant: str, *names: str) -> None:
        source = self.templates[variant] / "environments"
        for name in names:
            for filename in (f"{name}.yaml", f"pylock.{name}.toml"):
                shutil.copyfile(source / filename, self.root / "environments" / filename)

    def drop(self, name: str) -> None:
        for filename in (f"{name}.yaml", f"pylock.{name}.toml"):
            (self.root / "environments" / filename).unlink()

    def fingerprint(self) -> dict[str, str]:
        """sha256 of every file under environments/ (what must survive any crash untouched)."""
        envdir = self.root / "environments"
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(envdir.iterdir())
        }


@pytest.fixture
def repo(
    tmp_path: Path,
    templates: dict[str, Path],
    target_url: str,
    envctl_cache: object,
    monkeypatch: pytest.MonkeyPatch,
) -> Repo:
    """A checkout of variant "a"; ENVCTL_* point every CLI run (in-process or not) at it."""
    root = tmp_path / "repo"
    shutil.copytree(templates["a"], root)
    monkeypatch.setenv("ENVCTL_ROOT", str(root))
    monkeypatch.setenv("ENVCTL_TARGET", target_url)
    monkeypatch.setenv("ENVCTL_RETRY_WAIT_SCALE", "0.01")
    monkeypatch.delenv("ENVCTL_TEST_CRASH_AT", raising=False)
    monkeypatch.delenv(WAIT_VAR, raising=False)
    return Repo(root, templates)


@pytest.fixture
def target(repo: Repo, target_url: str) -> Target:
    return open_target(target_url, Project(repo.root))


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "envctl", *args]


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **extra}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def envctl(
    *args: str, timeout: float = CLI_TIMEOUT, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (the current ENVCTL_* settings plus ``extra``)."""
    return subprocess.run(
        cli_command(*args),
        env=cli_env(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def spawn(*args: str, stderr_file: Optional[Path] = None, **extra: str) -> subprocess.Popen[str]:
    """The real CLI in the background; its stderr goes to ``stderr_file`` when given (readable while
    it runs), else to a pipe for ``communicate``."""
    if stderr_file is None:
        return subprocess.Popen(
            cli_command(*args),
            env=cli_env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    with open(stderr_file, "wb") as err:
        return subprocess.Popen(
            cli_command(*args),
            env=cli_env(**extra),
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
        )


def wait_for(
    condition: Callable[[], bool],
    what: str,
    *,
    proc: Optional[subprocess.Popen[str]] = None,
    timeout: float = WAIT_TIMEOUT,
) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail naming ``what`` after ``timeout``
    seconds, or at once (with its stderr) when ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"envctl exited ({proc.returncode}) before {what}: {(err or '')[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL)


@dataclass(frozen=True)
class Barrier:
    """An ``ENVCTL_TEST_WAIT_AT`` barrier (see ``envctl.crashpoints``): a process started with
    ``**barrier.at(point)`` parks at ``point`` until ``release()``."""

    path: Path

    def at(self, point: str) -> dict[str, str]:
        """The environment that parks a process at ``point``."""
        return {WAIT_VAR: f"{point}:{self.path}"}

    def reached(self) -> bool:
        return reached_path(self.path).exists()

    def wait_parked(self, proc: subprocess.Popen[str]) -> None:
        """Return once ``proc`` is parked at the barrier (fails if it exits first)."""
        wait_for(self.reached, "the barrier point", proc=proc)
        assert int(reached_path(self.path).read_text()) == proc.pid

    def release(self) -> None:
        """Let every process parked here (and any later arrival) go on."""
        self.path.touch()


@pytest.fixture
def barrier(tmp_path: Path) -> Barrier:
    return Barrier(tmp_path / "barrier")


def kill_when(
    proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = WAIT_TIMEOUT
) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds (fails if it ends or times out first)."""
    try:
        wait_for(ready, "the kill point", proc=proc, timeout=timeout)
    except BaseException:  # pytest.fail: never leave the process running behind a failure
        proc.kill()
        raise
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=CLI_TIMEOUT)


def one_line_error(stderr: str) -> str:
    """The failure is exactly one ``envctl: error:`` line, the last one, and no traceback
    anywhere.
    """
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("envctl: ")]
    assert len(errors) == 1 and errors[0].startswith("envctl: error: "), stderr
    assert stderr.rstrip().splitlines()[-1] == errors[0]
    return errors[0]


def assert_intact(target: Target, state: Optional[State] = None) -> State:
    """Every version the index names has its archive in the target with the recorded size and
    md5.
    """
    state = state if state is not None else read_state(target)
    for env in state.environments.values():
        assert env.current is None or env.current_version is not None, (
            f"{env.name}: current names no version"
        )
        for version in env.versions:
            info = target.stat(version.resource)
            assert info is not None, f"{env.name} {version.label}: {version.resource} is missing"
            assert info.size == version.size, (
                f"{version.resource}: size {info.size} != recorded {version.size}"
            )
            assert info.md5 in (None, version.md5), (
                f"{version.resource}: md5 {info.md5} != recorded {version.md5}"
            )
    return state


def archive_members(target: Target, resource: str, tmp: Path) -> list[str]:
    dest = tmp / f"dl-{resource}"
    target.download(resource, dest)
    with tarfile.open(dest) as tar:
        return tar.getnames()


def lease_present(target: Target) -> bool:
    return any(info.name == LEASE_OBJECT for info in target.list("envctl-"))


def observed_archives(target: Target) -> dict[str, int]:
    return {
        name: info.size
        for name, info in observe(target).objects.items()
        if name.endswith(".tar.gz")
    }


@pytest.fixture
def no_stray_processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end are killed (never leaked)."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
