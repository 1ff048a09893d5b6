"""Markers that never match the target: a warning at lock time, and no empty archive is built
(or deployed) unless the spec declares the environment empty."""

from __future__ import annotations

import pytest


def test_requirements_whose_markers_never_match_warn_and_do_not_build(
    project, capsys: pytest.CaptureFixture[str]
):
    project.spec("ghost", "3.11", ['tinydep; python_version < "3.0"'])
    assert project.run("lock", "ghost") == 0
    err = capsys.readouterr().err
    assert "ghost: none of its requirements applies to CPython 3.11" in err
    assert project.run("build", "ghost") == 1
    err = capsys.readouterr().err
    assert "refusing to build an empty archive" in err and "Traceback" not in err
    assert project.run("apply", "--auto-approve") == 1
    assert "refusing to build an empty archive" in capsys.readouterr().err


def test_an_environment_declared_empty_builds(project, capsys: pytest.CaptureFixture[str]):
    project.spec("empty", "3.11", [])
    assert project.run("lock", "empty") == 0
    assert "none of its requirements" not in capsys.readouterr().err
    assert project.run("build", "empty") == 0
