"""Targets for controller tests: the local store and MaxCompute (emulator + real pyodps)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from controller_helpers import TarBuilt, tar_builder

import pytest

from envctl.project import Project
from envctl.targets import Target, open_target


@pytest.fixture
def target(target_url: str, tmp_path: Path) -> Target:
    return open_target(target_url, Project(tmp_path))


@pytest.fixture
def builds(tmp_path: Path) -> Iterator[Callable[..., TarBuilt]]:
    yield tar_builder(tmp_path / "builds")
