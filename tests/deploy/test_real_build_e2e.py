"""README flow with the real resolver and builder: lock -> apply -> change -> plan -> apply ->
rollback.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from envctl.deploy.observe import current_resource
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.testing.build_fixtures import envctl_cache, local_index  # noqa: F401 - fixtures
from tests.deploy.helpers import run


def write_spec(root: Path, index_url: str, requirements: str) -> None:
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "environments" / "nlp.yaml").write_text(
        f'name: nlp\npython: "3.11"\nindex_url: {index_url}\nrequirements:\n  - {requirements}\n'
    )


def test_lock_apply_change_relock_apply_rollback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    target_url: str,
    local_index,  # noqa: F811
    envctl_cache,  # noqa: F811
) -> None:
    root = tmp_path / "repo"
    write_spec(root, local_index.url, "tinypure")
    monkeypatch.setenv("ENVCTL_ROOT", str(root))
    monkeypatch.setenv("ENVCTL_TARGET", target_url)
    code, _, err = run(capsys, "lock")
    assert code == 0, err
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0, err
    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0

    write_spec(root, local_index.url, "tinypure tinydep")
    code, _, err = run(capsys, "plan")
    assert code == 1 and "run 'envctl lock nlp'" in err
    assert run(capsys, "lock", "nlp")[0] == 0
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "lock changed" in out and "+ tinydep 1.0" in out

    assert run(capsys, "apply", "--auto-approve")[0] == 0
    target = open_target(target_url, Project(root))
    current = current_resource(target, "nlp")
    assert current.version == 2 and ("tinydep", "1.0") in current.packages
    target.download(current.resource, tmp_path / "got.tar.gz")
    with tarfile.open(tmp_path / "got.tar.gz") as tar:
        assert any("tinydep" in member for member in tar.getnames())

    assert run(capsys, "rollback", "nlp", "--to", "v1")[0] == 0
    assert current_resource(target, "nlp").version == 1
