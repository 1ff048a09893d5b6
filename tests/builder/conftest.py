"""Helpers for builder tests: a project on disk whose specs point at the local index."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from envctl.cli import main
from envctl.testing.index import LocalIndex


class ProjectDir:
    def __init__(self, root: Path, index: LocalIndex) -> None:
        self.root = root
        self.index = index
        (root / "environments").mkdir(parents=True, exist_ok=True)

    def spec(self, name: str, python: str, requirements: list[str], **fields: Any) -> Path:
        data = {"name": name, "python": python, "requirements": requirements, "index_url": self.index.url, **fields}
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
    from envctl.verify import find_interpreter

    if find_interpreter("3.11") is None:
        pytest.skip("no CPython 3.11 interpreter on this machine")
    return lambda: None
