"""``envctl sbom``: CycloneDX 1.6 from the lock (validated with cyclonedx-python-lib), stored by
apply beside each version; ``owners`` in the plan comment and ``envctl codeowners``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cyclonedx")
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from envctl.deploy.observe import read_state
from envctl.lock.lockfile import read_lock
from envctl.spec.project import Project
from envctl.targets import open_target


def _valid(text: str) -> dict[str, Any]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    data: dict[str, Any] = json.loads(text)
    return data


def _sbom(project: Any, capsys: pytest.CaptureFixture[str], name: str = "demo") -> dict[str, Any]:
    capsys.readouterr()
    assert project.run("sbom", name) == 0
    return _valid(capsys.readouterr().out)


def test_sbom_from_the_lock_is_valid_cyclonedx_16(
    project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    project.spec("demo", "3.7", ["tinychain", "tinysdist"], exclude=["tinydep"])
    assert project.run("lock", "demo") == 0
    lock = read_lock(project.lock_path("demo"))
    data = _sbom(project, capsys)
    assert data["specVersion"] == "1.6" and data["metadata"]["component"]["name"] == "demo"
    components = {c["name"]: c for c in data["components"]}
    chain = lock.package("tinychain")
    assert chain is not None
    assert components["tinychain"]["purl"] == f"pkg:pypi/tinychain@{chain.version}"
    assert components["tinychain"]["hashes"] == [{"alg": "SHA-256", "content": chain.sha256}]
    assert components["tinychain"]["externalReferences"][0]["url"] == chain.url
    sdist = {p["name"]: p["value"] for p in components["tinysdist"]["properties"]}
    assert sdist["envctl:kind"] == "sdist" and "built from this sdist" in sdist["envctl:build"]
    assert components["tinydep"]["scope"] == "excluded" and "hashes" not in components["tinydep"]
    assert _sbom(project, capsys) == data  # deterministic: one lock, one document
    assert "hashes" not in data["metadata"]["component"]


def test_sbom_names_the_archive_once_built(
    project: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demo") == 0
    capsys.readouterr()
    assert project.run("build", "demo", "--format", "json") == 0
    sha = json.loads(capsys.readouterr().out)["sha256"]
    assert _sbom(project, capsys)["metadata"]["component"]["hashes"] == [
        {"alg": "SHA-256", "content": sha}
    ]
    out = tmp_path / "sbom.json"
    assert project.run("sbom", "demo", "-o", str(out)) == 0
    _valid(out.read_text())


def test_sbom_without_a_current_lock_is_one_line(
    project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("sbom", "demo") == 1
    err = capsys.readouterr().err
    assert err.startswith("envctl: error: 'demo' has no lock file") and err.count("\n") == 1


def test_apply_stores_the_sbom_beside_the_version(
    project: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVCTL_TARGET", f"local://{tmp_path / 'store'}")
    project.spec("demo", "3.11", ["tinypure"], owners=["team-nlp", "@alice"])
    assert project.run("lock", "demo") == 0
    capsys.readouterr()
    assert project.run("plan", "--format", "markdown") == 0
    assert "**Owners to review:** `demo`: team-nlp, @alice" in capsys.readouterr().out
    assert project.run("apply", "--auto-approve") == 0
    capsys.readouterr()
    assert project.run("status", "--format", "json") == 0
    row = json.loads(capsys.readouterr().out)["environments"][0]
    target = open_target(None, Project(project.root))
    version = read_state(target).env("demo").current_version
    assert version is not None and row["sbom"] == version.sbom
    stored = _valid(target.read(row["sbom"]).decode())
    assert stored["metadata"]["component"]["hashes"][0]["content"] == version.sha256


def test_codeowners_maps_specs_and_locks_to_owners(
    project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    project.spec("demo", "3.11", ["tinypure"], owners=["team-nlp", "@org/data", "ops@example.com"])
    project.spec("free", "3.11", ["tinypure"])
    capsys.readouterr()
    assert project.run("codeowners") == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "/environments/demo.yaml @team-nlp @org/data ops@example.com",
        "/environments/pylock.demo.toml @team-nlp @org/data ops@example.com",
    ]


def test_a_compiled_sdist_carries_its_build_provenance() -> None:
    from envctl.lock.lockfile import Lock, LockedFile, NativeBuild
    from envctl.lock.sbom import dumps

    sdist = LockedFile(
        "fastx", "1.0", "fastx-1.0.tar.gz", "https://x/fastx-1.0.tar.gz", "a" * 64, None, "sdist"
    )
    build = NativeBuild(
        "fastx",
        "1.0",
        "a" * 64,
        "fastx-1.0-cp311-cp311-manylinux2014_x86_64.whl",
        "b" * 64,
        "manylinux2014_x86_64",
        {"zig": "0.17.0"},
    )
    lock = Lock("demo", "3.11.9", "manylinux2014_x86_64", "0" * 64, (sdist,), builds=(build,))
    component = _valid(dumps(lock))["components"][0]
    props = {p["name"]: p["value"] for p in component["properties"]}
    assert component["hashes"][0]["content"] == "a" * 64  # the reviewed sdist
    assert (
        props["envctl:built-wheel-sha256"] == "b" * 64 and props["envctl:toolchain:zig"] == "0.17.0"
    )
