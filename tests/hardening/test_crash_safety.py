"""SIGKILL `envctl apply` at every step; the target never points at a bad archive and a re-run
converges.

Kill points are exact (``ENVCTL_TEST_CRASH_AT``, see ``envctl.crashpoints``) or external: the
emulator slows a request down and the test kills the process once the request is in flight.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from envctl.deploy.observe import read_state
from envctl.deploy.state import State
from envctl.emulator import Emulator
from envctl.lock.lockfile import read_lock
from envctl.targets import Target
from tests.hardening.helpers import (
    Repo,
    archive_members,
    assert_intact,
    envctl,
    kill_when,
    lease_present,
    run,
    spawn,
)

KILLED = -signal.SIGKILL
# In apply order; each later run gets past the earlier points (cache, uploaded archive reused).
POINTS = ("build", "built", "upload:2", "uploaded", "state-write")
BEFORE_SWITCH = {"build", "built", "upload:2", "uploaded"}


def deploy_v1(repo: Repo, target: Target, capsys: pytest.CaptureFixture[str]) -> State:
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0, err
    state = assert_intact(target)
    assert state.env("nlp").current == 1
    return state


def assert_converges(
    repo: Repo, target: Target, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A plain re-run finishes the change; afterwards plan sees nothing to do and no lease is
    left.
    """
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0, err
    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0
    state = assert_intact(target)
    current = state.env("nlp").current_version
    assert (
        current.lock_hash == read_lock(repo.root / "environments" / "pylock.nlp.toml").lock_hash()
    )
    assert ("tinydep", "1.0") in current.packages
    assert "packages/tinydep.py" in archive_members(target, current.resource, tmp_path)
    assert not lease_present(target)


def test_apply_killed_at_each_step_never_exposes_a_bad_archive_and_then_converges(
    repo: Repo, target: Target, target_url: str, capsys, tmp_path: Path
) -> None:
    v1 = deploy_v1(repo, target, capsys).env("nlp").current_version
    repo.use("b", "nlp")
    files = repo.fingerprint()
    points = (
        POINTS if target_url.startswith("local") else POINTS[:-1]
    )  # state-write hook: local store only
    for point in points:
        result = envctl("apply", "--auto-approve", ENVCTL_TEST_CRASH_AT=point)
        assert result.returncode == KILLED, f"{point}: not killed: {result.stderr}"
        assert repo.fingerprint() == files, f"{point}: spec or lock files changed"
        state = assert_intact(target)
        current = state.env("nlp").current_version
        if point in BEFORE_SWITCH:
            assert current == v1, f"{point}: the pointer moved before the new archive was verified"
        else:
            assert current.version in (1, 2)
        assert state.env("etl").current == 1
    assert_converges(repo, target, capsys, tmp_path)


def test_killed_apply_lease_is_broken_by_the_next_run_on_the_same_machine(
    repo: Repo, target: Target, capsys
) -> None:
    repo.use("b", "nlp")
    assert envctl("apply", "--auto-approve", ENVCTL_TEST_CRASH_AT="built").returncode == KILLED
    assert lease_present(target)
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0, err
    assert "that process no longer exists" in err


@pytest.mark.parametrize("target_url", ["odps"], indirect=True)
def test_emulator_kill_mid_part_upload_publishes_nothing_and_rerun_uploads_again(
    repo: Repo, target: Target, odps_emulator: Emulator, capsys, tmp_path: Path, no_stray_processes
) -> None:
    v1 = deploy_v1(repo, target, capsys).env("nlp").current_version
    repo.use("b", "nlp")
    odps_emulator.stats.reset()
    odps_emulator.faults.delay(0.5, kind="part")
    proc = spawn("apply", "--auto-approve")
    no_stray_processes.append(proc)
    kill_when(
        proc, lambda: odps_emulator.stats.count(kind="part") >= 2
    )  # the 2nd part is in flight
    odps_emulator.faults.clear()
    state = assert_intact(target)
    assert state.env("nlp").current_version == v1
    archives = [i for i in target.list("envctl-nlp-") if i.name.endswith(".tar.gz")]
    assert [a.name for a in archives] == [v1.resource], (
        "a partial upload was published as an archive"
    )
    assert_converges(repo, target, capsys, tmp_path)


@pytest.mark.parametrize("target_url", ["odps"], indirect=True)
def test_emulator_kill_during_the_index_write_leaves_old_or_new_pointer_never_garbage(
    repo: Repo, target: Target, odps_emulator: Emulator, capsys, tmp_path: Path, no_stray_processes
) -> None:
    v1 = deploy_v1(repo, target, capsys).env("nlp").current_version
    repo.use("b", "nlp")
    odps_emulator.stats.reset()
    odps_emulator.faults.delay(1.0, method="PUT", path=r"envctl-state\.json")
    proc = spawn("apply", "--auto-approve")
    no_stray_processes.append(proc)
    kill_when(proc, lambda: odps_emulator.stats.count(kind="replace") >= 1)
    odps_emulator.faults.clear()
    state = assert_intact(target)
    assert state.env("nlp").current in (v1.version, v1.version + 1)
    assert read_state(target).serial == state.serial
    assert_converges(repo, target, capsys, tmp_path)
