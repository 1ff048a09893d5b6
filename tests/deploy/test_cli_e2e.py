"""The GitOps loop through the real CLI, builder and targets (local store and emulator)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envctl import console
from envctl.deploy.lease import acquire, release
from envctl.deploy.observe import current_resource
from envctl.deploy.state import STATE_OBJECT
from envctl.lock.lockfile import Lock, inputs_hash, write_lock
from envctl.lock.target_python import full_version
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.udf.resolution import resource_ref
from tests.deploy.helpers import run


def write_spec(root: Path, name: str, python: str) -> None:
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "environments" / f"{name}.yaml").write_text(
        f'name: {name}\npython: "{python}"\nrequirements: []\n'
    )


def relock(root: Path, name: str) -> None:
    """A current lock with no packages: real locks/builds without any package index."""
    project = Project(root)
    env = project.environments([name])[name]
    write_lock(
        project.lock_path(name),
        Lock(name, full_version(env.python), env.platform, inputs_hash(env), ()),
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target_url: str) -> Path:
    root = tmp_path / "repo"
    write_spec(root, "nlp", "3.11")
    write_spec(root, "etl", "3.7")
    relock(root, "nlp")
    relock(root, "etl")
    monkeypatch.setenv("ENVCTL_ROOT", str(root))
    monkeypatch.setenv("ENVCTL_TARGET", target_url)
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache"))
    return root


def test_apply_plan_change_apply_rollback_status(repo: Path, target_url: str, capsys) -> None:
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0 and "now v1" in err
    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0

    write_spec(repo, "nlp", "3.10")
    relock(repo, "nlp")
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2
    assert "nlp" in out and "python changed (3.11.9 -> 3.10" in out and "1 to update" in out

    assert run(capsys, "apply", "--auto-approve")[0] == 0
    target = open_target(target_url, Project(repo))
    assert current_resource(target, "nlp").version == 2

    code, _, err = run(capsys, "rollback", "nlp")
    assert code == 0 and "v2 -> v1" in err
    assert current_resource(target, "nlp").version == 1

    code, out, _ = run(capsys, "status", "--format", "json")
    rows = {r["environment"]: r for r in json.loads(out)["environments"]}
    assert rows["etl"]["in_sync"] and rows["etl"]["version"] == 1
    assert not rows["nlp"]["in_sync"] and "lock changed" in rows["nlp"]["sync"]

    # After the rollback, git still declares v2: gc keeps it (and lists nothing twice).
    code, _, err = run(capsys, "gc", "--dry-run", "--keep", "0", "--grace", "0s")
    assert code == 0 and err == "Nothing to collect.\n", err


def test_second_apply_does_no_builds_or_uploads(repo: Path, target_url: str, capsys) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    store = open_target(target_url, Project(repo))
    before = {o.name: (o.size, o.modified) for o in store.list("envctl-")}
    code, out, _ = run(capsys, "apply", "--auto-approve", "--format", "json")
    assert code == 0 and json.loads(out) == {"changed": False, "outcomes": []}
    assert {o.name: (o.size, o.modified) for o in store.list("envctl-")} == before


def test_saved_plan_applies_once_then_is_stale(repo: Path, tmp_path: Path, capsys) -> None:
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", "-o", str(plan_file))[0] == 0
    assert run(capsys, "apply", str(plan_file))[0] == 0
    code, _, err = run(capsys, "apply", str(plan_file))
    assert code == 1 and "stale plan: the target changed" in err and "Traceback" not in err


def test_removed_environment_is_deleted_only_with_prune(
    repo: Path, target_url: str, capsys
) -> None:
    run(capsys, "apply", "--auto-approve")
    (repo / "environments" / "etl.yaml").unlink()
    code, out, _ = run(capsys, "plan", "--format", "markdown", "--detailed-exitcode")
    assert code == 2 and out.startswith("<!-- envctl-plan -->") and "| `-` | `etl` | delete" in out
    run(capsys, "apply", "--auto-approve")
    target = open_target(target_url, Project(repo))
    assert current_resource(target, "etl") is not None
    run(capsys, "apply", "--auto-approve", "--prune")
    assert current_resource(target, "etl") is None


def test_concurrent_apply_names_the_holder_or_waits(
    repo: Path, target_url: str, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = open_target(target_url, Project(repo))
    lease = acquire(target, "apply")
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 1 and f"lease ID {lease.id}" in err and "force-unlock" in err

    announced = console.info

    def release_once_waiting(message: str) -> None:  # the holder finishes while the apply waits
        announced(message)
        if "waiting up to" in message:
            release(target, lease)

    monkeypatch.setattr(console, "info", release_once_waiting)
    code, _, err = run(capsys, "apply", "--auto-approve", "--lock-timeout", "600s")
    assert code == 0 and "waiting up to 600s" in err, err


def test_force_unlock_breaks_a_stale_lease(repo: Path, target_url: str, capsys) -> None:
    lease = acquire(open_target(target_url, Project(repo)), "apply")
    code, _, err = run(capsys, "force-unlock", lease.id)
    assert code == 0 and lease.id in err
    assert run(capsys, "apply", "--auto-approve")[0] == 0


def test_gc_dry_run_deletes_nothing_and_never_touches_current(
    repo: Path, target_url: str, capsys
) -> None:
    for python in ("3.11", "3.10", "3.9"):
        write_spec(repo, "nlp", python)
        relock(repo, "nlp")
        run(capsys, "apply", "--auto-approve")
    target = open_target(target_url, Project(repo))
    names = sorted(o.name for o in target.list("envctl-"))
    code, out, _ = run(
        capsys, "gc", "--keep", "0", "--grace", "0s", "--dry-run", "--format", "json"
    )
    report = json.loads(out)
    assert code == 0 and report["versions"] == {"nlp": ["v2", "v1"]}
    assert sorted(o.name for o in target.list("envctl-")) == names
    run(capsys, "gc", "--keep", "0", "--grace", "0s")
    assert current_resource(target, "nlp").version == 3
    assert current_resource(target, "etl").version == 1
    assert sorted(o.name.endswith(".tar.gz") for o in target.list("envctl-nlp-")) == [
        False,
        True,
    ]  # + SBOM


@pytest.mark.parametrize(
    "args, message",
    [
        (("plan", "--only", "nope"), "--only 'nope'"),
        (("plan", "--target", "ftp://x"), "bad target 'ftp://x'"),
        (("apply", "missing-plan.json"), "does not exist"),
        (("apply", "--lock-timeout", "soon"), "--lock-timeout 'soon' is not a duration"),
        (("rollback", "nlp"), "'nlp' is not deployed"),
        (("force-unlock", "abc"), "is not locked"),
        (("plan", "--format", "yaml"), "--format must be one of"),
    ],
)
def test_bad_input_is_a_one_line_error(repo: Path, capsys, args, message: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 1 and message in err
    assert err.startswith("envctl: error:") and "Traceback" not in err


def test_corrupt_plan_file_and_state_object_are_clear_errors(
    repo: Path, target_url: str, tmp_path: Path, capsys
) -> None:
    bad_plan = tmp_path / "bad.json"
    bad_plan.write_text("{not json")
    code, _, err = run(capsys, "apply", str(bad_plan))
    assert code == 1 and "is not a valid envctl plan" in err
    open_target(target_url, Project(repo)).put_bytes(STATE_OBJECT, b"garbage")
    code, _, err = run(capsys, "plan")
    assert code == 1 and "state object envctl-state.json" in err and "is corrupt" in err


def test_missing_lock_tells_to_run_envctl_lock(repo: Path, capsys) -> None:
    Project(repo).lock_path("etl").unlink()
    code, _, err = run(capsys, "plan")
    assert code == 1 and "etl: lock missing; run 'envctl lock etl'" in err


def test_apply_without_a_terminal_needs_auto_approve(repo: Path, capsys) -> None:
    code, _, err = run(capsys, "apply")
    assert code == 1 and "pass --auto-approve" in err


def test_the_whole_flow_in_a_schema_of_a_three_tier_project(
    project, odps_emulator, odps_credentials, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url = odps_emulator.target_url("envctl_test") + "&schema=analytics&chunk_size=65536"
    monkeypatch.setenv("ENVCTL_TARGET", url)
    project.spec("nlp", "3.11", ["tinypure"])
    assert project.run("lock") == 0
    assert project.run("apply", "--auto-approve") == 0
    project.spec("nlp", "3.11", ["tinychain"])
    assert project.run("lock") == 0
    assert project.run("apply", "--auto-approve") == 0
    assert project.run("rollback", "nlp") == 0
    capsys.readouterr()
    assert project.run("status", "--format", "json") == 0
    rows = {r["environment"]: r for r in json.loads(capsys.readouterr().out)["environments"]}
    assert project.run("gc", "--grace", "0s", "--keep", "1") == 0

    target = open_target(url, Project(project.root))
    current = current_resource(target, "nlp")
    assert current is not None and current.version == 1 and rows["nlp"]["version"] == 1
    stored = odps_emulator.store.names("envctl_test", "analytics")
    assert STATE_OBJECT in stored and current.resource in stored
    assert odps_emulator.store.names("envctl_test") == [], "nothing outside the schema"
    assert resource_ref(target, current.resource) == (
        f"envctl_test/schemas/analytics/resources/{current.resource}"
    )
