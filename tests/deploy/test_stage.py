"""Scale-out: ``build --upload`` stages archives without state or lease; ``apply`` adopts them."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from envctl.build.cache import Cache
from envctl.deploy.apply import Applier
from envctl.deploy.desired import Desired
from envctl.deploy.observe import current_resource, observe
from envctl.deploy.plan import DesiredEnv, plan
from envctl.deploy.retention import select
from envctl.deploy.stage import find_staged, stage
from envctl.deploy.state import (
    LEASE_OBJECT,
    STATE_OBJECT,
    BuildRecord,
    State,
    VersionInfo,
    archive_name,
    build_record_name,
    sbom_name,
)
from envctl.lock.lockfile import Lock, read_lock
from envctl.spec.loader import Environment
from envctl.spec.project import Project
from envctl.targets import Target, open_target
from envctl.targets.base import ObjectInfo
from envctl.testing.emulator_fixtures import emulator_target_url
from tests.conftest import ProjectDir
from tests.deploy.helpers import TarBuilt, make_lock


def _staged_project(
    project: ProjectDir, target_url: str, capsys: pytest.CaptureFixture[str]
) -> dict:
    project.spec("nlp", "3.11", ["tinypure"])
    assert project.run("lock") == 0
    capsys.readouterr()
    assert project.run("build", "nlp", "--upload", "--target", target_url, "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def _target(project: ProjectDir, target_url: str) -> Target:
    return open_target(target_url, Project(project.root))


def test_build_upload_stages_archive_and_record_without_state_or_lease(
    project: ProjectDir, target_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _staged_project(project, target_url, capsys)
    target = _target(project, target_url)
    lock_hash = read_lock(project.lock_path("nlp")).lock_hash()
    names = {info.name for info in target.list("envctl-")}
    resource = archive_name("nlp", first["sha256"])
    assert names == {resource, build_record_name("nlp", lock_hash)}
    assert STATE_OBJECT not in names and LEASE_OBJECT not in names
    assert first["upload"]["uploaded_bytes"] == first["size"]
    info = target.stat(resource)
    assert info is not None and info.md5 == first["md5"]

    # again (another runner, or a retried job): nothing is sent, the objects stay as they are
    assert project.run("build", "nlp", "--upload", "--target", target_url, "--format", "json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["upload"]["uploaded_bytes"] == 0 and again["sha256"] == first["sha256"]
    assert target.stat(resource) == info


def test_apply_adopts_a_staged_archive_without_building_or_uploading(
    project: ProjectDir, target_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    staged = _staged_project(project, target_url, capsys)
    empty_cache = tmp_path / "runner-cache"  # the apply job runs on another runner
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(empty_cache))
    assert project.run("apply", "--auto-approve", "--target", target_url, "--format", "json") == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert "uploaded ahead" in outcome["detail"] and outcome["uploaded_bytes"] == 0
    assert not Cache(empty_cache).archive_path(staged["lock_hash"]).exists(), (
        "apply built the archive"
    )
    current = current_resource(_target(project, target_url), "nlp")
    assert current is not None and current.version == 1
    assert (current.sha256, current.md5, current.size) == (
        staged["sha256"],
        staged["md5"],
        staged["size"],
    )
    assert current.lock_hash == staged["lock_hash"] and ("tinypure", "1.0") in current.packages
    assert project.run("plan", "--detailed-exitcode", "--target", target_url) == 0


def test_apply_rebuilds_when_the_staged_archive_was_changed_out_of_band(
    project: ProjectDir, target_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    staged = _staged_project(project, target_url, capsys)
    target = _target(project, target_url)
    resource = archive_name("nlp", staged["sha256"])
    forged = tmp_path / "forged.tar.gz"
    forged.write_bytes(b"x" * staged["size"])  # same size, other bytes
    target.delete(resource)
    target.put_file(
        resource, forged, md5=__import__("hashlib").md5(forged.read_bytes()).hexdigest()
    )
    assert (
        find_staged(target, {i.name: i for i in target.list("envctl-")}, "nlp", staged["lock_hash"])
        is None
    )

    assert project.run("apply", "--auto-approve", "--target", target_url, "--format", "json") == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert "uploaded" in outcome["detail"] and outcome["uploaded_bytes"] == staged["size"]
    info = target.stat(resource)
    assert info is not None and info.md5 == staged["md5"]


def test_build_upload_refuses_to_replace_different_bytes_under_the_archive_name(
    project: ProjectDir, target_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    staged = _staged_project(project, target_url, capsys)
    target = _target(project, target_url)
    resource = archive_name("nlp", staged["sha256"])
    target.delete(resource)
    target.put_bytes(resource, b"corrupt")
    assert project.run("build", "nlp", "--upload", "--target", target_url) == 1
    err = capsys.readouterr().err
    assert "exists in" in err and "envctl apply" in err and "Traceback" not in err
    assert target.read(resource) == b"corrupt"


def test_a_record_whose_fields_do_not_match_is_not_adopted(
    project: ProjectDir, target_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    staged = _staged_project(project, target_url, capsys)
    target = _target(project, target_url)
    name = build_record_name("nlp", staged["lock_hash"])
    data = json.loads(target.read(name))
    data["resource"] = archive_name("other", staged["sha256"])  # points elsewhere
    target.put_bytes(name, json.dumps(data).encode())
    objects = {i.name: i for i in observe(target).objects.values()}
    assert find_staged(target, objects, "nlp", staged["lock_hash"]) is None


def test_gc_collects_build_records_only_of_unkept_locks_after_grace() -> None:
    resource = archive_name("nlp", "a" * 64)
    kept = VersionInfo(
        "nlp", 1, resource, "a" * 64, "b" * 32, 1, "c" * 64, "3.11.9", "manylinux2014_x86_64"
    )
    state = State().with_version(kept)
    names = [
        build_record_name("nlp", "c" * 64),
        build_record_name("nlp", "d" * 64),
        build_record_name("x", "e" * 64),
    ]
    old = {n: ObjectInfo(n, 10, 0.0) for n in names}
    assert select(state, old, now=10_000.0, keep=1, grace=60).objects == tuple(sorted(names[1:]))
    young = {n: ObjectInfo(n, 10, 9_990.0) for n in names}
    assert select(state, young, now=10_000.0, keep=1, grace=60).objects == ()


def test_build_record_round_trip_and_rejects_a_resource_of_another_archive() -> None:
    record = BuildRecord(
        "nlp", "c" * 64, archive_name("nlp", "a" * 64), "a" * 64, "b" * 32, 7, (("six", "1.0"),)
    )
    assert BuildRecord.from_bytes(record.to_bytes()) == record
    bad = json.loads(record.to_bytes())
    bad["resource"] = "envctl-state.json"
    with pytest.raises(ValueError, match="resource"):
        BuildRecord.from_bytes(json.dumps(bad).encode())
    with pytest.raises(ValueError):
        BuildRecord.from_bytes(b"\xff not json")


def test_apply_adopts_all_staged_archives_in_one_index_write_and_builds_the_rest(
    target: Target, builds: Callable[..., TarBuilt]
) -> None:
    names = ["a1", "a2", "a3", "b1"]
    envs = {n: Environment(name=n, python="3.11") for n in names}
    locks = {n: make_lock(n, (f"pkg-{n}", "1.0")) for n in names}
    for n in names[:3]:  # staged by a CI matrix; b1 was not
        stage(target, n, builds(envs[n], locks[n]))
    built_by_apply: list[str] = []

    def build(env: Environment, lock: Lock) -> TarBuilt:
        built_by_apply.append(env.name)
        return builds(env, lock)

    observed = observe(target)
    desired = {
        n: DesiredEnv(n, locks[n].python, locks[n].platform, locks[n].lock_hash()) for n in names
    }
    the_plan = plan(desired, observed, target=target.url)
    applier = Applier(
        target, Desired.of(envs, locks), build, observed.state, dict(observed.objects)
    )
    result = applier.run(the_plan, prune=False)
    assert built_by_apply == ["b1"]
    assert (
        sorted(o.environment for o in result.outcomes if "uploaded ahead" in o.detail) == names[:3]
    )
    state = observe(target).state
    assert all(state.env(n).current_version is not None for n in names)
    writes = state.serial - observed.state.serial  # every index write bumps the serial
    assert writes == 2, f"one index write for the three adopted, one for b1; got {writes}"


def test_adoption_requests_overlap_and_a_staged_archive_of_wrong_md5_or_size_is_refused(
    target: Target, builds: Callable[..., TarBuilt], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final apply of a fan-out checks staged archives and writes their SBOMs concurrently
    (a barrier only all three adopted SBOM writes in flight together can pass: one after
    another it breaks), still in one index write, and still refuses a staged archive whose
    bytes differ from its build record (same size, other md5; or another size)."""
    good, bad = ["a1", "a2", "a3"], ["md5", "size"]
    envs = {n: Environment(name=n, python="3.11") for n in good + bad}
    locks = {n: make_lock(n, (f"pkg-{n}", "1.0")) for n in good + bad}
    for n in good + bad:
        stage(target, n, builds(envs[n], locks[n]))
    for n, forged_bytes in (("md5", None), ("size", b"y" * 7)):
        real = builds(envs[n], locks[n])
        forged = tmp_path / f"forged-{n}.tar.gz"
        forged.write_bytes(forged_bytes or b"x" * real.size)
        target.delete(archive_name(n, real.sha256))
        target.put_file(
            archive_name(n, real.sha256), forged, md5=hashlib.md5(forged.read_bytes()).hexdigest()
        )
    together = threading.Barrier(len(good), timeout=120)
    adopted_sboms = {sbom_name(n, builds(envs[n], locks[n]).sha256) for n in good}
    put_bytes = type(target).put_bytes

    def meeting(self: Target, name: str, data: bytes, *, temp: bool = False) -> None:
        if name in adopted_sboms:
            together.wait()  # raises BrokenBarrierError if the writes come one at a time
        put_bytes(self, name, data, temp=temp)

    monkeypatch.setattr(type(target), "put_bytes", meeting)
    built_by_apply: list[str] = []

    def build(env: Environment, lock: Lock) -> TarBuilt:
        built_by_apply.append(env.name)
        return builds(env, lock)

    observed = observe(target)
    desired = {
        n: DesiredEnv(n, locks[n].python, locks[n].platform, locks[n].lock_hash())
        for n in good + bad
    }
    the_plan = plan(desired, observed, target=target.url)
    applier = Applier(
        target, Desired.of(envs, locks), build, observed.state, dict(observed.objects)
    )
    result = applier.run(the_plan, prune=False)

    assert not together.broken and together.n_waiting == 0
    assert sorted(o.environment for o in result.outcomes if "uploaded ahead" in o.detail) == good
    assert sorted(built_by_apply) == bad, "a mismatched staged archive must be rebuilt"
    state = observe(target).state
    assert state.serial - observed.state.serial == 1 + len(bad)
    for n in good + bad:
        current = state.env(n).current_version
        real = builds(envs[n], locks[n])
        assert current is not None and (current.sha256, current.md5) == (real.sha256, real.md5)
        assert current.sbom is not None and current.sbom in {i.name for i in target.list("envctl-")}
        info = target.stat(current.resource)
        assert info is not None and (info.size, info.md5) == (real.size, real.md5)


def test_a_target_that_reports_no_md5_gets_a_normal_build_not_an_unchecked_adoption(
    project: ProjectDir,
    odps_emulator: Any,
    odps_credentials: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = emulator_target_url(odps_emulator)
    staged = _staged_project(project, url, capsys)
    odps_emulator.configure(meta_md5="absent")
    runner_cache = tmp_path / "runner-cache"
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(runner_cache))
    assert project.run("apply", "--auto-approve", "--target", url, "--format", "json") == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert "uploaded ahead" not in outcome["detail"]
    assert Cache(runner_cache).archive_path(staged["lock_hash"]).exists(), "apply did not build"
