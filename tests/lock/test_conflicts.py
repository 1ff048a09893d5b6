"""A failed resolution names the real conflict; a native sdist is blamed only when it is why."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from envctl.testing.index import LocalIndex
from envctl.testing.wheels import Dist

NATIVE_C = {"src/_fast.c": "int tinybase_fast(void) { return 1; }\n"}

CONFLICTING = (
    # tinyapp 1.0 needs tinybase >= 2 (like pandas 2.2.0 needing numpy >= 1.23.2 on 3.11) ...
    Dist("tinyapp", "1.0", {"tinyapp/__init__.py": ""}, requires=("tinybase>=2.0",)),
    Dist("tinybase", "2.0", {"tinybase/__init__.py": ""}),
    # ... and every tinybase < 2 is an sdist with C code (like old numpy without cp311 wheels).
    Dist(
        "tinybase",
        "1.0",
        {"tinybase/__init__.py": ""},
        tags=(),
        sdist=True,
        extra_sdist_files=NATIVE_C,
    ),
    # A plain conflict between wheels (like requests 2.31.0 needing urllib3 >= 1.21.1).
    Dist("tinyclient", "1.0", {"tinyclient/__init__.py": ""}, requires=("tinyhttp>=1.21",)),
    Dist("tinyhttp", "1.20", {"tinyhttp/__init__.py": ""}),
    Dist("tinyhttp", "1.21", {"tinyhttp/__init__.py": ""}),
)


@pytest.fixture(scope="module")
def conflict_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    with LocalIndex.create(Path(tmp_path_factory.mktemp("conflicts")), CONFLICTING) as index:
        yield index


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in lines if line.startswith("envctl: error:")]) == 1
    return lines[-1]


def test_conflict_lines_are_shown(project, conflict_index, capsys) -> None:
    project.spec("demo", "3.11", ["tinyclient==1.0", "tinyhttp<1.21"], index_url=conflict_index.url)
    assert project.run("lock", "demo") == 1
    err = _error(capsys)
    assert "Cannot install tinyclient==1.0 and tinyhttp<1.21" in err
    assert (
        "The conflict is caused by: The user requested tinyhttp<1.21; "
        "tinyclient 1.0 depends on tinyhttp>=1.21" in err
    )


def test_a_conflict_past_a_native_sdist_is_reported_as_the_conflict(
    project, conflict_index, capsys
) -> None:
    project.spec(
        "demo", "3.11", ["tinybase<2.0", "tinyapp==1.0"], index_url=conflict_index.url,
        native_builds="never",
    )  # fmt: skip
    assert project.run("lock", "demo") == 1
    err = _error(capsys)
    assert "The conflict is caused by:" in err and "tinyapp 1.0 depends on tinybase>=2.0" in err
    assert "compiled code" not in err and "Pin tinybase" not in err


def test_a_native_sdist_the_resolution_needs_is_still_blamed(
    project, conflict_index, capsys
) -> None:
    project.spec(
        "demo", "3.11", ["tinybase<2.0"], index_url=conflict_index.url, native_builds="never"
    )
    assert project.run("lock", "demo") == 1
    assert _error(capsys).startswith(
        "envctl: error: tinybase 1.0 ships only an sdist with compiled code (src/_fast.c)"
    )
