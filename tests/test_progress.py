"""Progress steps: plain lines in a CI log, bars on a terminal (installs too), nothing with -q."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from envctl import console, progress
from envctl.build import builder


def test_not_a_terminal_prints_the_step_line_once(capsys: pytest.CaptureFixture[str]) -> None:
    console.configure()
    with progress.step("nlp: uploading 45.9 MiB", 100) as advance:
        advance(50)
        advance(50)
    assert capsys.readouterr().err == "nlp: uploading 45.9 MiB\n"


def test_quiet_or_disabled_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    console.configure(quiet=True)
    try:
        with progress.step("nlp: packing", 1) as advance:
            advance(1)
    finally:
        console.configure()
    with progress.step("nlp: packing", 1, enabled=False):
        pass
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_a_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    console.configure()
    monkeypatch.setattr(console, "stderr_is_terminal", lambda: True)
    with progress.step("nlp: installing 3 packages", 3, unit="items") as advance:
        advance(3)
    assert (
        "nlp: installing 3 packages\n" not in capsys.readouterr().err
    )  # a (transient) bar, not a line


def test_the_wheel_install_phase_is_a_step(
    monkeypatch: pytest.MonkeyPatch, local_env, envctl_cache
) -> None:
    seen: list[tuple[str, int, str, int]] = []

    @contextmanager
    def recording(
        line: str, total: int, *, enabled: bool = True, unit: str = "bytes"
    ) -> Iterator[object]:
        advanced = [0]
        yield lambda n: advanced.__setitem__(0, advanced[0] + n)
        seen.append((line, total, unit, advanced[0]))

    monkeypatch.setattr(builder, "step", recording)
    env = local_env("demo", "3.11", "tinypure tinydep")
    from envctl.lock.resolve import resolve_environment

    builder.build(env, resolve_environment(env), progress=True, cache=envctl_cache)
    assert ("demo: installing 2 packages", 2, "items", 2) in seen
