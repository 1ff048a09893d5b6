"""`envctl validate` on malformed files: one positioned line per problem, exit 1, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from envctl.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = sorted((FIXTURES / "invalid").iterdir())
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+)")


def _expectation(path: Path) -> tuple[int, int, str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    match = EXPECT.match(first)
    assert match, f"{path.name} lacks an '# expect: line:col: text' header"
    return int(match[1]), int(match[2]), match[3]


def test_there_are_at_least_twenty_malformed_fixtures() -> None:
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_malformed_file_reports_positioned_problem_and_exits_1(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line, col, text = _expectation(path)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert f"{path}:{line}:{col}: " in out.out, out.out
    problem_lines = [line for line in out.out.splitlines() if line.startswith(str(path))]
    assert any(text in line for line in problem_lines), out.out
    assert all(line.count("\n") == 0 for line in problem_lines)


def test_examples_in_repository_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    environments = Path(__file__).parents[2] / "environments"
    assert main(["validate", str(environments)]) == 0
    assert capsys.readouterr().out == ""


def test_every_problem_in_every_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text('name: a\npython: "3.11"\nfoo: 1\nbar: 2\n')
    (tmp_path / "b.yaml").write_text('name: b\npython: 3.1\nrequirements: ["x=="]\n')
    assert main(["validate", str(tmp_path)]) == 1
    out = [
        line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")
    ]  # not the caret
    assert [line.split(": ", 1)[0] for line in out] == [
        f"{tmp_path}/a.yaml:3:1",
        f"{tmp_path}/a.yaml:4:1",
        f"{tmp_path}/b.yaml:2:9",
        f"{tmp_path}/b.yaml:3:16",
    ]


def test_json_format_lists_problems_with_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    (tmp_path / "a.yaml").write_text('name: a\npython: "3.11"\nnope: 1\n')
    assert main(["validate", "--format", "json", str(tmp_path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False
    assert data["problems"][0]["line"] == 3 and data["problems"][0]["column"] == 1


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "no such file or directory" in capsys.readouterr().out


@pytest.mark.parametrize("case", sorted(p.name for p in (FIXTURES / "sets").iterdir()))
def test_cross_file_problems(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    directory = FIXTURES / "sets" / case
    expected = (directory / "EXPECT").read_text().strip().splitlines()
    assert main(["validate", str(directory)]) == 1
    out = capsys.readouterr().out
    for line in expected:
        assert f"{directory}/{line}" in out, out


def test_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_bytes(b"name: x\npython: [\x00\n")
    proc = subprocess.run(
        [sys.executable, "-m", "envctl", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"{bad}:")
