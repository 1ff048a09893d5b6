"""``envctl adopt``: an archive envctl did not build becomes v1; the next apply replaces it.

Runs against the local store and the emulator (the real pyodps client).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from envctl.cli import main
from envctl.deploy.observe import read_state
from envctl.files import file_hexdigest
from envctl.spec.project import Project
from envctl.targets import Target, open_target
from envctl.testing.index import LocalIndex
from tests.deploy.helpers import run

RESOURCE = "nlp_env.tar.gz"


def _pyodps_pack_like(path: Path) -> Path:
    """A tar.gz laid out as pyodps-pack makes them: packages/<dist>.dist-info and modules."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {
            "packages/jieba/__init__.py": b"",
            "packages/jieba-0.42.1.dist-info/METADATA": b"Name: jieba\nVersion: 0.42.1\n",
            "packages/six-1.16.0.dist-info/METADATA": b"Name: six\nVersion: 1.16.0\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_url: str, local_index: LocalIndex
) -> Path:
    root = tmp_path / "repo"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "nlp.yaml").write_text(
        f"name: nlp\npython: '3.11'\nindex_url: {local_index.url}\nrequirements: [tinypure]\n"
    )
    monkeypatch.setenv("ENVCTL_ROOT", str(root))
    monkeypatch.setenv("ENVCTL_TARGET", target_url)
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["lock", "nlp"]) == 0
    return root


@pytest.fixture
def target(repo: Path) -> Target:
    return open_target(None, Project(repo))


def test_adopt_then_apply_replaces_and_gc_never_deletes_the_adopted_resource(
    repo: Path, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _pyodps_pack_like(tmp_path / "pack.tar.gz")
    target.put_file(RESOURCE, archive, md5=file_hexdigest(archive, "md5"))

    code, out, _ = run(capsys, "adopt", "nlp", RESOURCE, "--format", "json")
    assert code == 0
    recorded = json.loads(out)
    assert recorded["sha256"] == file_hexdigest(archive) and recorded["adopted"] is True
    assert recorded["packages"] == [["jieba", "0.42.1"], ["six", "1.16.0"]]
    assert recorded["note"] == "adopted: not built from a lock"
    assert read_state(target).env("nlp").current_version.resource == RESOURCE  # type: ignore[union-attr]

    code, out, _ = run(capsys, "plan", "--format", "json")
    change = json.loads(out)["changes"][0]
    assert change["action"] == "update"
    assert change["reasons"] == [f"{RESOURCE} was adopted (not built from a lock): replace it"]
    assert "+ tinypure 1.0" in change["packages_diff"] and "- six 1.16.0" in change["packages_diff"]

    assert run(capsys, "apply", "--auto-approve")[0] == 0
    current = read_state(target).env("nlp").current_version
    assert current is not None and current.version == 2 and not current.adopted
    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0

    assert run(capsys, "gc", "--keep", "0", "--grace", "0s")[0] == 0
    assert [v.version for v in read_state(target).env("nlp").versions] == [2]
    assert target.stat(RESOURCE) is not None  # SQL functions may still use it


def test_adopt_refuses_a_managed_environment_and_a_missing_resource(
    repo: Path, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "adopt", "nlp", "nope.tar.gz")
    assert code == 1 and err == f"envctl: error: no resource named 'nope.tar.gz' in {target.url}\n"
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    archive = _pyodps_pack_like(tmp_path / "pack.tar.gz")
    target.put_file(RESOURCE, archive, md5=file_hexdigest(archive, "md5"))
    code, _, err = run(capsys, "adopt", "nlp", RESOURCE)
    assert code == 1 and "'nlp' is already deployed" in err and err.count("\n") == 1
