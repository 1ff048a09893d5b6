"""The shipped GitHub workflows and pre-commit hooks only use commands, flags and formats envctl has."""

from __future__ import annotations

import re
import shlex
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
    invocations = [(where, [a for a in argv if a not in GLOBAL_OPTIONS]) for where, argv in envctl_invocations()]
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
                assert re.search(rf"\b{value}\b", text), f"{where}: envctl {command} --format has no {value!r}"
