"""Shared test configuration and fixtures used by more than one stage's tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from envctl.cli import main
from envctl.spec.project import Project
from envctl.targets import Target, open_target
from envctl.testing.index import LocalIndex
from tests.deploy.helpers import TarBuilt, tar_builder

# The Alibaba Cloud default credential chain (envctl[cloud]) reads these once, when imported: no
# test may pick up this machine's credentials files or wait for an ECS metadata service.
os.environ.update(
    ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
    ALIBABA_CLOUD_CLI_PROFILE_DISABLED="true",
    ALIBABA_CLOUD_CREDENTIALS_FILE=os.devnull,
)

pytest_plugins = ["envctl.testing.emulator_fixtures", "envctl.testing.build_fixtures"]


class ProjectDir:
    def __init__(self, root: Path, index: LocalIndex) -> None:
        self.root = root
        self.index = index
        (root / "environments").mkdir(parents=True, exist_ok=True)

    def spec(self, name: str, python: str, requirements: list[str], **fields: Any) -> Path:
        data = {
            "name": name,
            "python": python,
            "requirements": requirements,
            "index_url": self.index.url,
            **fields,
        }
        path = self.root / "environments" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def lock_path(self, name: str) -> Path:
        return self.root / "environments" / f"pylock.{name}.toml"

    def run(self, *args: str) -> int:
        return main(["--root", str(self.root), *args])


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, envctl_cache: Any) -> ProjectDir:
    return ProjectDir(tmp_path / "repo", local_index)


@pytest.fixture
def python311() -> Callable[[], None]:
    from envctl.build.verify import find_interpreter

    if find_interpreter("3.11") is None:
        pytest.skip("no CPython 3.11 interpreter on this machine")
    return lambda: None


@pytest.fixture
def target(target_url: str, tmp_path: Path) -> Target:
    return open_target(target_url, Project(tmp_path))


@pytest.fixture
def builds(tmp_path: Path) -> Iterator[Callable[..., TarBuilt]]:
    yield tar_builder(tmp_path / "builds")
