"""The unpacked-bytes budget: declared sizes are checked before anything is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envctl.build.builder import build_requirements
from envctl.build.cache import Cache
from envctl.build.size import MB, UnpackBudget
from envctl.errors import EnvctlError
from envctl.testing.index import LocalIndex
from envctl.testing.wheels import Dist

ZEROS = Dist(
    "tinyzeros", "1.0", {"tinyzeros/__init__.py": "", "tinyzeros/zeros.bin": bytes(80 * MB)}
)
SMALL = Dist("tinysmall", "1.0", {"tinysmall/__init__.py": "", "tinysmall/data.bin": bytes(3 * MB)})


@pytest.fixture
def bomb_index(tmp_path: Path) -> LocalIndex:
    with LocalIndex.create(tmp_path / "index", (ZEROS, SMALL)) as index:
        yield index


def test_a_small_wheel_declaring_a_huge_file_is_refused_before_installing(
    bomb_index: LocalIndex, envctl_cache: Cache
) -> None:
    assert bomb_index.file("tinyzeros-1.0-py3-none-any.whl").stat().st_size < MB
    with pytest.raises(EnvctlError) as caught:
        build_requirements(
            ["tinyzeros"], python="3.11", index_url=bomb_index.url, cache=envctl_cache
        )
    message = str(caught.value)
    assert message.startswith("tinyzeros-1.0-py3-none-any.whl unpacks to 80.0 MiB from ")
    assert "a decompression bomb?" in message
    assert not list(envctl_cache.tmp_dir.iterdir()), "something was unpacked"
    assert not list((envctl_cache.root / "archives").glob("*.tar.gz"))


def test_the_total_is_capped_by_the_environment_setting(
    bomb_index: LocalIndex, envctl_cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVCTL_MAX_UNPACKED_MB", "2")
    with pytest.raises(
        EnvctlError, match=r"tinysmall-1.0-py3-none-any.whl unpacks to 3.0 MiB, above the 2.0 MiB"
    ):
        build_requirements(
            ["tinysmall"], python="3.11", index_url=bomb_index.url, cache=envctl_cache
        )


def test_build_output_reports_the_unpacked_size(project, capsys) -> None:
    project.spec("demo", "3.11", ["tinybig"])
    assert project.run("lock", "demo") == 0
    capsys.readouterr()
    assert project.run("build", "demo", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unpacked_size"] > MB
    assert project.run("build", "demo") == 0  # cached: still reported
    assert "MiB unpacked)" in capsys.readouterr().out


def test_ratio_applies_only_above_the_floor() -> None:
    budget = UnpackBudget(max_bytes=10**12, max_ratio=100)
    budget.check("tiny.whl", 10 * MB, 1)  # a file of zeros under 64 MiB costs nothing
    with pytest.raises(EnvctlError, match="above 100:1"):
        budget.check("big.whl", 200 * MB, MB)
    budget.check("honest.whl", 200 * MB, 50 * MB)
