"""Where the time goes: phases recorded for callers and shown with -v."""

from __future__ import annotations

import threading

import pytest

from envctl import timings
from tests.conftest import ProjectDir


def test_phases_add_up_per_recording_and_across_threads() -> None:
    with timings.recording() as outer:
        with timings.phase("pack"):
            pass
        with timings.recording() as inner:
            worker = threading.Thread(target=lambda: timings.add("install", 2.0))
            worker.start()
            worker.join()
            timings.add("install", 1.0)
    assert inner == {"install": 3.0}
    assert outer["install"] == 3.0 and outer["pack"] >= 0.0
    timings.add("install", 5.0)  # outside any recording: only shown, never kept
    assert outer["install"] == 3.0


def test_verbose_build_prints_the_breakdown(
    project: ProjectDir, capsys: pytest.CaptureFixture[str]
) -> None:
    project.spec("nlp", "3.11", ["tinypure"])
    assert project.run("lock") == 0
    capsys.readouterr()
    assert project.run("-v", "build", "nlp") == 0
    err = capsys.readouterr().err
    for name in ("download", "install", "pack"):
        assert f"{name}: " in err, err
