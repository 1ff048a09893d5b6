"""The shipped GitHub workflows and pre-commit hooks only use commands, flags and formats envctl
has.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from envctl.cli import main

REPO = Path(__file__).resolve().parents[2]
GLOBAL_OPTIONS = {"--no-color", "-v", "--verbose", "-q", "--quiet"}
SHELL_OPERATORS = {">", ">>", "|", "||", "&&", ";", "2>&1", "}"}


def envctl_invocations() -> list[tuple[str, list[str]]]:
    """``(where, argv)`` for every ``envctl ...`` a workflow step or hook runs."""
    found = []
    for path in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                for line in str(step.get("run", "")).splitlines():
                    found += [(path.name, argv) for argv in _commands(line)]
    for step in yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]:
        for line in str(step.get("run", "")).splitlines():
            found += [("action.yml", argv) for argv in _commands(line)]
    for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()):
        found += [(".pre-commit-hooks.yaml", argv) for argv in _commands(hook["entry"])]
    return found


def _commands(line: str) -> list[list[str]]:
    commands = []
    pieces = re.split(r"\s*(?:;|&&|\|\|?)\s*", line)
    for match in (re.match(r"\s*envctl\s+(.*)", piece) for piece in pieces):
        if match is None:
            continue
        argv = []
        for token in shlex.split(match.group(1), comments=True):
            if token in SHELL_OPERATORS:
                break
            argv.append(token)
        commands.append(argv)
    return commands


def help_text(capsys: pytest.CaptureFixture[str], command: str) -> str:
    capsys.readouterr()
    assert main([command, "--help"]) == 0, f"no command {command!r}"
    return capsys.readouterr().out


def test_workflows_call_only_existing_commands_flags_and_formats(capsys) -> None:
    invocations = [
        (where, [a for a in argv if a not in GLOBAL_OPTIONS])
        for where, argv in envctl_invocations()
    ]
    assert {argv[0] for _, argv in invocations} >= {"validate", "lock", "plan", "apply", "status"}
    for where, argv in invocations:
        command, rest = argv[0], argv[1:]
        text = " ".join(help_text(capsys, command).split())
        for index, token in enumerate(rest):
            if not token.startswith("--"):
                continue
            assert token in text, f"{where}: envctl {command} has no option {token}"
            if token == "--format":
                value = rest[index + 1]
                assert re.search(rf"\b{value}\b", text), (
                    f"{where}: envctl {command} --format has no {value!r}"
                )


def _steps() -> list[tuple[str, dict[str, object]]]:
    """``(file, step)`` for every step of every workflow and of the composite action."""
    steps = []
    for path in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            steps += [(path.name, step) for step in job["steps"]]
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps += [("action.yml", step) for step in action["runs"]["steps"]]
    return steps


def test_actions_are_pinned_by_commit_and_checkouts_keep_no_credentials() -> None:
    for where, step in _steps():
        uses = str(step.get("uses", ""))
        if not uses or uses.startswith("./"):
            continue
        pinned = re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses)
        assert pinned, f"{where}: {uses} is not pinned by commit SHA"
        if uses.startswith("actions/checkout@"):
            options = step.get("with") or {}
            assert isinstance(options, dict) and options.get("persist-credentials") is False, where


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    """Values reach scripts through env: (template injection is how PR text becomes code)."""
    for where, step in _steps():
        script = str(step.get("run", ""))
        assert "${{" not in script, f"{where}: an expression inside run: {step.get('name')}"


def test_plan_gets_read_only_credentials_and_write_keys_live_in_protected_environments() -> None:
    workflows = REPO / ".github" / "workflows"
    plan = yaml.safe_load((workflows / "plan.yml").read_text())
    assert "ENVCTL_PLAN_ACCESS_KEY_ID" in str(plan) and "secrets.ALIBABA_CLOUD" not in str(plan)
    apply = yaml.safe_load((workflows / "apply.yml").read_text())["jobs"]
    assert "secrets.ALIBABA_CLOUD" not in str(apply["plan"])
    for name, job in apply.items():
        if "secrets.ALIBABA_CLOUD_ACCESS_KEY_SECRET" in str(job):
            assert "environment" in job, f"apply.yml: {name} has write keys outside an environment"


def test_zizmor_finds_nothing(tmp_path: Path) -> None:
    import shutil
    import subprocess

    zizmor = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if zizmor is None:
        pytest.skip("zizmor not installed")
    command = [zizmor, "--offline", "--no-progress", ".github/", "action.yml"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
