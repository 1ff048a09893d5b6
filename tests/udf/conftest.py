"""Runtime test fixtures: an isolated project, cache dir and target per test."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterator

import pytest

from envctl import settings
from envctl.deploy.state import State, VersionInfo, archive_name
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest
from envctl.spec.project import Project
from envctl.targets import Target
from envctl.testing.emulator_fixtures import TEST_ACCESS_ID, TEST_SECRET, emulator_target_url
from envctl.testing.index import LocalIndex, write_simple_index
from envctl.testing.wheels import Dist, write_dist
from envctl.udf import adhoc, background
from envctl.udf.resolution import clear_memo

NLP_SPEC = """\
name: nlp
python: "3.11"
requirements:
  - jieba==0.40
"""

ENV_VARS = (*(s.name for s in settings.ALL if s.runtime), settings.PIN_GRACE.name)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A repository with ``environments/nlp.yaml``, as cwd, with its own cache dir."""
    root = tmp_path / "repo"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "nlp.yaml").write_text(NLP_SPEC)
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(root)
    clear_memo()
    adhoc.stats.clear()
    yield Project(root)
    try:  # builds queued by the test finish before its cache dir and target go away
        background.ready(timeout=600)
    except EnvctlError:
        pass
    background.forget()
    clear_memo()


@pytest.fixture
def odps_target_url(odps_emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``ENVCTL_TARGET`` pointing at the emulator, with dummy credentials in the environment."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", TEST_ACCESS_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", TEST_SECRET)
    return emulator_target_url(odps_emulator)


Deploy = Callable[[Target, str, bytes], VersionInfo]


def deploy_fake_version(target: Target, environment: str, payload: bytes, tmp: Path) -> VersionInfo:
    """Publish an archive and point the state at it, the way ``envctl apply`` leaves a target."""
    sha = hashlib.sha256(payload).hexdigest()
    name = archive_name(environment, sha)
    path = tmp / name
    path.write_bytes(payload)
    target.put_file(name, path, md5=file_hexdigest(path, "md5"))
    try:
        state = State.from_bytes(target.read("envctl-state.json"))
    except Exception:  # noqa: BLE001 - no (or an unreadable) state: start a fresh one
        state = State()
    info = VersionInfo(
        environment=environment,
        version=state.env(environment).next_number,
        resource=name,
        sha256=sha,
        md5=file_hexdigest(path, "md5"),
        size=len(payload),
        lock_hash="0" * 64,
        python="3.11",
        platform="manylinux2014_x86_64",
    )
    target.put_bytes("envctl-state.json", state.with_version(info).next_serial().to_bytes())
    return info


@pytest.fixture
def deploy(tmp_path: Path) -> Callable[[Target, str, bytes], VersionInfo]:
    staging = tmp_path / "staging"
    staging.mkdir()
    return lambda target, environment, payload: deploy_fake_version(
        target, environment, payload, staging
    )


def tiny(name: str, version: str, *requires: str) -> Dist:
    """A pure-Python wheel whose module reports ``__version__``."""
    return Dist(
        name, version, {f"{name}/__init__.py": f'__version__ = "{version}"\n'}, requires=requires
    )


@pytest.fixture
def adhoc_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalIndex]:
    """A private simple index (tests may publish newer versions) used by ad-hoc builds."""
    with LocalIndex.create(
        tmp_path / "index", (tiny("tinytext", "1.0", "tinyseg"), tiny("tinyseg", "0.40"))
    ) as index:
        monkeypatch.setenv("ENVCTL_INDEX_URL", index.url)
        yield index


@pytest.fixture
def release(adhoc_index: LocalIndex) -> Callable[..., None]:
    """``release("tinyseg", "0.41")`` publishes a new version on the running ``adhoc_index``."""

    def publish(name: str, version: str, *requires: str) -> None:
        write_dist(tiny(name, version, *requires), adhoc_index.root / "files")
        write_simple_index(adhoc_index.root)

    return publish


@pytest.fixture
def no_maxframe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decorate as when the optional ``maxframe`` extra is absent (local debugging)."""
    monkeypatch.setattr("envctl.udf.marking.maxframe_udf", lambda: None)
