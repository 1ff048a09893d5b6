"""The command line itself: lazy start-up, one-line usage errors, help, literal messages, Ctrl-C."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from envctl import console
from envctl.cli import main
from envctl.cli.app import COMMANDS, app
from envctl.deploy.lease import current_lease
from envctl.spec.project import Project
from envctl.targets import open_target

TIMEOUT = 120


def envctl(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envctl", *args], capture_output=True, text=True, timeout=TIMEOUT,
        cwd=cwd, env={**os.environ, **env},
    )  # fmt: skip


@pytest.mark.parametrize(
    "args, message",
    [
        (["build"], "envctl: error: build: Missing argument 'NAME'."),
        (["nope"], "envctl: error: No such command 'nope'."),
        (["gc", "--bogus"], "envctl: error: gc: No such option: --bogus"),
        (["--bogus"], "envctl: error: No such option: --bogus"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], message: str) -> None:
    done = envctl(*args)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr
    assert done.stdout == ""


def test_a_bad_option_value_is_a_usage_error_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gc", "--keep", "many"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("envctl: error: gc: Invalid value for '--keep'") and err.count("\n") == 1


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main([*args, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_help_shows_no_type_metavars(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, *([name] if name else []))
    assert not re.search(r"<(bool|int|str|float|path|list|int range)\b[^>]*>|\{\w+\}", text), text
    assert "--help" in text


def test_help_metavars_name_arguments_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert "Usage: envctl build [OPTIONS] NAME" in _help(capsys, "build")
    validate = _help(capsys, "validate")
    assert "Usage: envctl validate [OPTIONS] [PATH...]\n" in validate and re.search(
        r"\n  PATH\.\.\.\s+Spec", validate
    )
    gc = _help(capsys, "gc")
    assert "--keep N" in gc and "--grace DURATION" in gc and re.search(r"--dry-run\s+Only", gc)


def test_help_summaries_are_the_commands_docstrings() -> None:
    """``envctl --help`` reads ``COMMANDS`` (no import); the table must not drift from the code."""
    for entry in COMMANDS.values():
        importlib.import_module(f"envctl.cli.{entry.module}")
    docs = {info.name: inspect.getdoc(info.callback) or "" for info in app.registered_commands}
    for group in app.registered_groups:  # sub-apps (envctl cache ...) document themselves
        docs[group.name] = str(group.typer_instance.info.help)
    for name, entry in COMMANDS.items():
        assert docs[name].splitlines()[0] == entry.summary, name


def _imported_after(*args: str) -> set[str]:
    code = (
        "import sys; from envctl.cli import main; code = main(sys.argv[1:]); "
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=TIMEOUT
    )
    return set(done.stderr.splitlines())


def test_version_and_help_import_no_command_module_nor_heavy_libraries() -> None:
    for args in (["--version"], ["--help"]):
        modules = _imported_after(*args)
        assert not [m for m in modules if m.endswith("_cmd")], args
        assert not {"rich", "odps", "jsonschema", "yaml", "envctl.build.builder"} & modules, args


def test_plan_imports_neither_the_builder_nor_pyodps_nor_the_emulator(tmp_path: Path) -> None:
    repo = Path(__file__).parents[2]
    modules = _imported_after("--root", str(repo), "plan", "--target", f"local://{tmp_path}")
    assert "envctl.cli.plan_cmd" in modules
    assert not {"envctl.build.builder", "odps", "envctl.emulator", "envctl.cli.apply_cmd"} & modules
    assert "lark" not in modules  # jsonschema's optional rfc3987-syntax compiles grammars: kept out


def test_the_format_library_kept_out_of_jsonschema_stays_importable() -> None:
    code = (
        "import importlib.util, sys; import envctl.spec.loader; "
        "assert 'rfc3987_syntax' not in sys.modules; "
        "spec = importlib.util.find_spec('rfc3987_syntax'); "
        "spec is None or importlib.import_module('rfc3987_syntax')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr


def test_message_bodies_are_printed_literally(capsys: pytest.CaptureFixture[str]) -> None:
    console.configure()
    console.info("install envctl[fast] and pandas[excel]")
    console.warn("[bold]not markup[/bold]")
    err = capsys.readouterr().err
    assert "install envctl[fast] and pandas[excel]\n" in err
    assert "warning: [bold]not markup[/bold]\n" in err


def test_commands_outside_a_repository_say_so_in_one_line(tmp_path: Path) -> None:
    for args in (["gc", "--dry-run"], ["validate"], ["plan"], ["status"]):
        done = envctl(*args, cwd=tmp_path, ENVCTL_ROOT="", ENVCTL_TARGET="")
        assert done.returncode == 1, args
        assert done.stderr.splitlines() == [
            f"envctl: error: no environments/ directory in {tmp_path}; "
            "run envctl from your repository or pass --root"
        ], args
    assert list(tmp_path.iterdir()) == []  # and nothing was created


def test_dry_runs_create_no_files(project, tmp_path: Path) -> None:
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demo") == 0
    assert project.run("gc", "--dry-run") == 0
    assert project.run("plan") == 0 and project.run("status") == 0
    assert not (project.root / ".envctl").exists()


def test_ctrl_c_during_apply_says_interrupted_and_exits_130(project) -> None:
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demo") == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "envctl", "--root", str(project.root), "apply", "--auto-approve"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ENVCTL_TEST_DELAY_AT": "built:600", "ENVCTL_TARGET": ""},
    )  # fmt: skip
    try:
        seen = []
        for line in process.stderr:  # the barrier: apply holds the lease and is building
            seen.append(line)
            if line.startswith("demo: create ("):
                break
        else:
            pytest.fail(f"apply never started: {''.join(seen)}")
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert rest.strip().splitlines()[-1] == "envctl: interrupted"
    assert "Traceback" not in rest
    assert current_lease(open_target(None, Project(project.root))) is None  # the lease was released


@pytest.mark.parametrize("flag", [["--format", "json"], ["--json"]])
def test_emulator_prints_json_with_format_json_or_the_hidden_old_flag(
    tmp_path: Path, flag: list[str]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "envctl", "emulator", "--port", "0", "--data", str(tmp_path), *flag],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        info = json.loads(process.stdout.readline())
        assert info["endpoint"].startswith("http://127.0.0.1:") and info["target"].startswith(
            "odps://"
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_emulator_help_shows_format_not_the_old_json_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys, "emulator")
    assert "--format text|json" in text and "--json" not in text
