"""Build once, deploy many: two emulator projects stand in for dev and prod.

``apply --target prod`` copies the archive dev holds for the same lock (same sha256) instead of
rebuilding; ``promote`` does it explicitly and refuses a dev version git does not declare.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envctl.cli import main
from envctl.deploy.observe import current_resource, read_state
from envctl.emulator.server import Emulator
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.testing.index import LocalIndex
from tests.deploy.helpers import run


def write_spec(root: Path, name: str, python: str, index: LocalIndex) -> None:
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "environments" / f"{name}.yaml").write_text(
        f'name: {name}\npython: "{python}"\nindex_url: {index.url}\nrequirements: [tinypure]\n'
    )


def relock(root: Path, name: str) -> None:
    assert main(["--root", str(root), "lock", name]) == 0


@pytest.fixture
def repo(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    odps_emulator: Emulator,
    odps_credentials: None,
    local_index: LocalIndex,
) -> Path:
    root = tmp_path / "repo"
    write_spec(root, "nlp", "3.11", local_index)
    relock(root, "nlp")
    (root / "envctl.toml").write_text(
        f'[targets.dev]\nurl = "{odps_emulator.target_url("nlp_dev")}"\ndefault = true\n\n'
        f'[targets.prod]\nurl = "{odps_emulator.target_url("nlp_prod")}"\n'
        'access_key_id_var = "PROD_AK"\naccess_key_secret_var = "PROD_SK"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PROD_AK", "prod-ak")
    monkeypatch.setenv("PROD_SK", "prod-sk")
    monkeypatch.setenv("ENVCTL_ROOT", str(root))
    monkeypatch.delenv("ENVCTL_TARGET", raising=False)
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache-dev"))
    return root


def _no_building(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Another machine (empty cache) that cannot build: only copying can succeed."""
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache-prod"))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("built an archive that another target holds")

    monkeypatch.setattr("envctl.build.builder._build_fresh", refuse)


def test_apply_to_prod_copies_the_bytes_dev_runs(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0  # the default target: dev
    dev = current_resource(open_target("dev", Project(repo)), "nlp")
    assert dev is not None
    _no_building(monkeypatch, tmp_path)

    code, out, _ = run(capsys, "plan", "--target", "prod", "--format", "json")
    change = json.loads(out)["changes"][0]
    assert code == 0 and (change["source_target"], change["source_version"]) == ("dev", 1)
    assert json.loads(out)["to_build"] == []  # a CI build matrix for prod builds nothing
    assert f"promote from dev, v1, sha256 {dev.sha256[:12]}" in change["reasons"]
    assert (
        f"promote from dev, v1, sha256 {dev.sha256[:12]}"
        in run(capsys, "plan", "--target", "prod")[1]
    )

    code, _, err = run(capsys, "apply", "--target", "prod", "--auto-approve")
    assert code == 0, err
    prod = current_resource(open_target("prod", Project(repo)), "nlp")
    assert prod is not None and (prod.sha256, prod.resource) == (dev.sha256, dev.resource)
    assert "copying" in err


def test_promote_refuses_a_version_git_does_not_declare(
    repo: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    write_spec(repo, "nlp", "3.10", local_index)  # git moves on; dev still runs the 3.11 build
    relock(repo, "nlp")
    code, _, err = run(capsys, "promote", "nlp", "--from", "dev", "--to", "prod", "--auto-approve")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("envctl: error: 'nlp' v1 on dev was built from lock ")
    assert read_state(open_target("prod", Project(repo))).env("nlp").current_version is None


def test_promote_copies_and_a_second_promote_is_a_noop(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    dev = current_resource(open_target("dev", Project(repo)), "nlp")
    _no_building(monkeypatch, tmp_path)
    code, _, err = run(capsys, "promote", "nlp", "--from", "dev", "--to", "prod", "--auto-approve")
    assert code == 0, err
    assert "promote from dev, v1" in err
    prod = current_resource(open_target("prod", Project(repo)), "nlp")
    assert prod is not None and dev is not None and prod.sha256 == dev.sha256
    code, out, _ = run(
        capsys,
        "promote",
        "nlp",
        "--from",
        "dev",
        "--to",
        "prod",
        "--auto-approve",
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out) == {"changed": False, "outcomes": []}


def test_promote_from_a_target_without_the_environment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "promote", "nlp", "--from", "dev", "--to", "prod")
    assert (
        code == 1 and err == "envctl: error: 'nlp' is not deployed on dev; apply it there first\n"
    )
    code, _, err = run(capsys, "promote", "nlp", "--from", "stage", "--to", "prod")
    assert code == 1 and "unknown target 'stage'" in err


def test_prod_credentials_come_from_its_own_variables(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROD_SK")
    code, _, err = run(capsys, "status", "--target", "prod")
    assert code == 1 and "set PROD_AK and PROD_SK" in err
