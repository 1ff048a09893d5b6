"""Targets for controller tests: the local store and MaxCompute (emulator + real pyodps)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from controller_helpers import TarBuilt, tar_builder

import pytest

from envctl.emulator.pytest_plugin import TEST_ACCESS_ID, TEST_SECRET, emulator_target_url
from envctl.project import Project
from envctl.targets import Target, open_target
from envctl.targets.odps import ACCESS_ID_VAR, SECRET_VAR

SMALL_CHUNK = 64 * 1024


@pytest.fixture
def odps_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ACCESS_ID_VAR, TEST_ACCESS_ID)
    monkeypatch.setenv(SECRET_VAR, TEST_SECRET)


@pytest.fixture(params=["local", "odps"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test runs against both target kinds; odps uses tiny chunks to force part uploads."""
    if request.param == "local":
        return f"local://{tmp_path / 'store'}"
    emulator = request.getfixturevalue("odps_emulator")
    request.getfixturevalue("odps_credentials")
    return emulator_target_url(emulator) + f"&chunk_size={SMALL_CHUNK}"


@pytest.fixture
def target(target_url: str, tmp_path: Path) -> Target:
    return open_target(target_url, Project(tmp_path))


@pytest.fixture
def builds(tmp_path: Path) -> Iterator[Callable[..., TarBuilt]]:
    yield tar_builder(tmp_path / "builds")
