"""``envctl.toml`` named targets: validation with positions, names or URLs, the default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envctl.cli import main
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.targets.config import check_config, load_config, select
from envctl.targets.local import LocalTarget

GOOD = """\
[targets.dev]
url = "local:///{root}/dev"
default = true

[targets.prod]
url = "local:///{root}/prod"
description = "production"
access_key_id_var = "PROD_AK"
access_key_secret_var = "PROD_SK"
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "environments").mkdir()
    monkeypatch.delenv("ENVCTL_TARGET", raising=False)
    return tmp_path


def _write(repo: Path, text: str) -> None:
    (repo / "envctl.toml").write_text(
        text.replace("{root}", str(repo).lstrip("/")), encoding="utf-8"
    )


def test_names_urls_and_the_default(repo: Path) -> None:
    _write(repo, GOOD)
    config = load_config(Project(repo))
    assert config.names() == ["dev", "prod"]
    assert select(None, config) == (f"local:///{str(repo).lstrip('/')}/dev", config.get("dev"))
    assert select("prod", config)[1] == config.get("prod")
    assert select("local", config) == ("local", None)
    assert config.get("prod").credential_vars == {  # type: ignore[union-attr]
        "access_key_id_var": "PROD_AK",
        "access_key_secret_var": "PROD_SK",
    }
    target = open_target("prod", Project(repo))
    assert isinstance(target, LocalTarget) and target.root == repo / "prod"


def test_without_a_project_file_the_default_is_the_local_store(repo: Path) -> None:
    target = open_target(None, Project(repo))
    assert isinstance(target, LocalTarget) and target.root == Project(repo).store_dir


def test_environment_variable_takes_a_name(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(repo, GOOD)
    monkeypatch.setenv("ENVCTL_TARGET", "prod")
    assert open_target(None, Project(repo)).root == repo / "prod"  # type: ignore[attr-defined]


def test_unknown_name_is_one_line_with_did_you_mean(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(repo, GOOD)
    assert main(["--root", str(repo), "status", "--target", "prd"]) == 1
    err = capsys.readouterr().err
    expected = "unknown target 'prd'; did you mean 'prod'? configured targets: dev, prod"
    assert err == f"envctl: error: {expected}\n"


def test_problems_have_positions_and_suggestions(repo: Path) -> None:
    _write(
        repo,
        """\
[targets.dev]
ulr = "local:///x"
default = true

[targets.prod]
url = "local:///y"
default = true
access_key_id_var = "AKIA-not-a-variable-name"

[target.x]
url = "local:///z"
""",
    )
    problems = [f"{p.line}:{p.col}: {p.message}" for p in check_config(Project(repo))[1]]
    assert problems == [
        "10:1: unknown key 'target'; did you mean 'targets'?",
        "2:1: unknown key 'ulr' in [targets.dev]; did you mean 'url'?",
        "1:1: [targets.dev] needs a url",
        "8:1: access_key_id_var must name an environment variable (not hold a value)",
    ]


def test_two_defaults_and_bad_names(repo: Path) -> None:
    _write(
        repo,
        '[targets.a]\nurl = "local"\ndefault = true\n[targets.b]\nurl = "local"\ndefault = true\n'
        '[targets.Prod]\nurl = "local"\n',
    )
    problems = [f"{p.line}:{p.col}: {p.message}" for p in check_config(Project(repo))[1]]
    assert problems == [
        "7:1: target name 'Prod' must be lowercase letters, digits, '-' or '_'",
        "6:1: only one target may be the default ('a' is)",
    ]


def test_toml_syntax_error_has_a_position(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(repo, '[targets.dev]\nurl = "local\n')
    assert main(["--root", str(repo), "plan"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"envctl: error: {repo / 'envctl.toml'}:2:") and "invalid TOML" in err
    assert err.count("\n") == 1


def test_targets_command_lists_and_reports(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(repo, GOOD)
    monkeypatch.setenv("PROD_AK", "id-value")
    monkeypatch.delenv("PROD_SK", raising=False)
    assert main(["--root", str(repo), "targets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("* dev ") and lines[1].startswith("  prod")
    assert "credentials: PROD_AK, PROD_SK (unset)" in lines[1] and "id-value" not in lines[1]
    assert main(["--root", str(repo), "targets", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and [t["name"] for t in data["targets"]] == ["dev", "prod"]
    _write(repo, GOOD + "\n[targets.qa]\nurl = 3\n")
    assert main(["--root", str(repo), "targets"]) == 1
    assert "envctl.toml:12:1: url must be a string" in capsys.readouterr().out


def test_per_target_credential_variables_are_used_and_redacted(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from envctl import console
    from envctl.targets.odps import credentials_from_env

    monkeypatch.setenv("PROD_AK", "prod-key-id")
    monkeypatch.setenv("PROD_SK", "prod-secret-value")
    creds = credentials_from_env(
        {"access_key_id_var": "PROD_AK", "access_key_secret_var": "PROD_SK"}
    )
    assert creds == {"access_id": "prod-key-id", "secret_access_key": "prod-secret-value"}
    assert console.redact("leaked prod-secret-value") == "leaked ***"
    monkeypatch.delenv("PROD_SK")
    with pytest.raises(Exception, match="set PROD_AK and PROD_SK"):
        credentials_from_env({"access_key_id_var": "PROD_AK", "access_key_secret_var": "PROD_SK"})


def test_validate_reports_project_file_problems_with_the_specs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(repo, '[targets.dev]\nurl = "local"\ndefualt = true\n')
    assert main(["--root", str(repo), "validate"]) == 1
    out = capsys.readouterr().out
    problem = "unknown key 'defualt' in [targets.dev]; did you mean 'default'?"
    assert f"{repo / 'envctl.toml'}:3:1: {problem}" in out
