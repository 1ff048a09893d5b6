"""SQL functions bound to environments, end to end through the CLI, on the local store and the
emulator (real pyodps): apply registers, plan shows, rollback re-points, gc keeps, --prune drops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envctl.cli import main
from envctl.deploy.observe import current_resource
from envctl.spec.project import Project
from envctl.targets import Target, open_target
from envctl.targets.base import FunctionInfo
from envctl.testing.index import LocalIndex
from tests.deploy.helpers import run

UDF = "class Segment(object):\n    def evaluate(self, text):\n        return text\n"


def write_spec(root: Path, index: LocalIndex, requirements: str = "tinypure") -> None:
    (root / "environments" / "nlp.yaml").write_text(
        f"name: nlp\npython: '3.11'\nindex_url: {index.url}\nrequirements: [{requirements}]\n"
        "functions:\n"
        "  - {name: segment_text, class: nlp_udf.Segment, code: [udf/nlp_udf.py]}\n"
    )
    assert main(["lock", "nlp"]) == 0


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_url: str, local_index: LocalIndex
) -> Path:
    root = tmp_path / "repo"
    (root / "environments").mkdir(parents=True)
    (root / "udf").mkdir()
    (root / "udf" / "nlp_udf.py").write_text(UDF)
    monkeypatch.setenv("ENVCTL_ROOT", str(root))
    monkeypatch.setenv("ENVCTL_TARGET", target_url)
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache"))
    write_spec(root, local_index)
    return root


@pytest.fixture
def target(repo: Path) -> Target:
    return open_target(None, Project(repo))


def _function(target: Target) -> FunctionInfo:
    return target.list_functions()["segment_text"]


def test_apply_registers_plan_shows_rollback_repoints(
    repo: Path, target: Target, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plan", "--format", "json")
    assert json.loads(out)["functions_diff"] == ["+ function segment_text: (the new build)"]

    assert run(capsys, "apply", "--auto-approve")[0] == 0
    v1 = current_resource(target, "nlp")
    assert v1 is not None
    function = _function(target)
    code_resource = function.resources[0]
    assert code_resource.startswith("nlp_udf__envctl_") and code_resource.endswith(".py")
    assert function.resources == (code_resource, v1.resource)
    assert function.class_type == code_resource[: -len(".py")] + ".Segment"
    assert target.read(code_resource).decode() == UDF
    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0

    write_spec(repo, local_index, requirements="tinypure, tinydep")
    code, out, _ = run(capsys, "plan")
    assert f"~ function segment_text: {v1.resource} -> (the new build)" in out
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    v2 = current_resource(target, "nlp")
    assert v2 is not None and _function(target).resources == (code_resource, v2.resource)

    code, _, err = run(capsys, "rollback", "nlp")
    assert code == 0 and f"~ function segment_text: {v2.resource} -> {v1.resource}" in err
    assert _function(target).resources == (code_resource, v1.resource)


def test_code_change_gc_protection_and_prune(
    repo: Path, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    first = _function(target)
    (repo / "udf" / "nlp_udf.py").write_text(UDF + "# v2\n")
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "~ function segment_text: code or class changed" in out
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    second = _function(target)
    assert second.resources[0] != first.resources[0] and second.resources[1] == first.resources[1]

    # An undeclared function still uses the archive: gc keeps it; --prune drops the function.
    target.put_function(FunctionInfo("legacy", first.class_type, first.resources))
    assert run(capsys, "gc", "--keep", "0", "--grace", "0s")[0] == 0
    assert target.stat(first.resources[1]) is not None
    code, out, _ = run(capsys, "plan")
    assert "- function legacy (pruned with --prune)" in out
    assert run(capsys, "apply", "--auto-approve", "--prune")[0] == 0
    assert sorted(target.list_functions()) == ["segment_text"]


def test_a_missing_code_file_or_module_is_one_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "udf" / "nlp_udf.py").unlink()
    code, _, err = run(capsys, "plan")
    assert (
        code == 1
        and "function code 'udf/nlp_udf.py' does not exist" in err
        and err.count("\n") == 1
    )
