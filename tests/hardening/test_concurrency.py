"""Two real `envctl apply` processes on one target: the lease serialises them, nothing interleaves.

A holder renews its lease while it works, and stops before any pointer switch once it has lost it.
The holder is parked at a barrier (``ENVCTL_TEST_WAIT_AT``) for as long as the test needs it to
hold the lease, and every wait polls a condition: nothing depends on how fast processes start.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from envctl.deploy.lease import acquire, current_lease, release
from envctl.deploy.observe import read_state
from envctl.deploy.state import State
from envctl.targets import Target
from tests.hardening.helpers import (
    CLI_TIMEOUT,
    Barrier,
    Repo,
    assert_intact,
    envctl,
    lease_present,
    one_line_error,
    run,
    spawn,
    wait_for,
)


def test_second_apply_fails_naming_the_holder_or_waits_for_it_and_both_land(
    repo: Repo, target: Target, tmp_path: Path, barrier: Barrier, no_stray_processes, capsys
) -> None:
    # Two checkouts sharing one target: X declares nlp, Y declares etl.
    other = Repo(tmp_path / "other", repo.templates)
    shutil.copytree(repo.root, other.root)
    repo.drop("etl")
    other.drop("nlp")

    holder = spawn("apply", "--auto-approve", **barrier.at("built"))  # holds the lease meanwhile
    no_stray_processes.append(holder)
    barrier.wait_parked(holder)
    assert lease_present(target)

    refused = envctl("apply", "--auto-approve", ENVCTL_ROOT=str(other.root))
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("envctl: error: target ") and "is locked by" in line
    assert (
        f":{holder.pid} (apply, since" in line
        and "--lock-timeout" in line
        and "force-unlock" in line
    )

    waiter_log = tmp_path / "waiter.stderr"
    waiter = spawn(
        "apply",
        "--auto-approve",
        "--lock-timeout",
        "600s",
        stderr_file=waiter_log,
        ENVCTL_ROOT=str(other.root),
    )
    no_stray_processes.append(waiter)
    wait_for(lambda: "waiting up to" in waiter_log.read_text(), "the waiter", proc=waiter)
    barrier.release()
    _, holder_err = holder.communicate(timeout=CLI_TIMEOUT)
    assert holder.returncode == 0, holder_err
    waiter.communicate(timeout=CLI_TIMEOUT)
    waiter_err = waiter_log.read_text()
    assert waiter.returncode == 0, waiter_err
    assert f":{holder.pid} (apply" in waiter_err and "waiting up to 600s" in waiter_err

    state = assert_intact(target)
    assert {name: env.current for name, env in state.environments.items()} == {"nlp": 1, "etl": 1}
    assert state.serial == 2, (
        "each apply wrote the index exactly once, the second on top of the first"
    )
    assert read_state(target) == state
    assert not lease_present(target)
    assert run(capsys, "plan", "--only", "nlp", "--detailed-exitcode")[0] == 0
    assert (
        run(capsys, "--root", str(other.root), "plan", "--only", "etl", "--detailed-exitcode")[0]
        == 0
    )


def test_slow_apply_renews_a_short_lease_so_another_apply_cannot_take_it(
    repo: Repo,
    target: Target,
    barrier: Barrier,
    monkeypatch: pytest.MonkeyPatch,
    no_stray_processes,
    capsys,
) -> None:
    # Renewed every ttl/3 = 10 s: only a stall of 20 s (two missed beats) could let it lapse.
    monkeypatch.setenv("ENVCTL_LEASE_TTL", "30s")
    holder = spawn("apply", "--auto-approve", **barrier.at("built"))  # parked, holding the lease
    no_stray_processes.append(holder)
    barrier.wait_parked(holder)
    first = current_lease(target)
    assert first is not None

    def renewed_since_first() -> bool:
        lease = current_lease(target)
        return lease is not None and lease.expires > first.expires

    wait_for(renewed_since_first, "a renewal of the lease", proc=holder)
    renewed = current_lease(target)
    assert renewed.id == first.id and renewed.expires > time.time()
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 1 and f"lease ID {first.id}" in one_line_error(err), err
    barrier.release()
    _, holder_err = holder.communicate(timeout=CLI_TIMEOUT)
    assert holder.returncode == 0, holder_err
    assert {name: env.current for name, env in assert_intact(target).environments.items()} == {
        "nlp": 1,
        "etl": 1,
    }
    assert not lease_present(target)


def test_apply_whose_lease_is_force_unlocked_stops_before_switching_a_pointer(
    repo: Repo,
    target: Target,
    barrier: Barrier,
    monkeypatch: pytest.MonkeyPatch,
    no_stray_processes,
    capsys,
) -> None:
    # No renewal runs while the test works (the first is due after 200 s), so the holder learns
    # of the break from its check before the pointer switch, once the new holder is in place.
    monkeypatch.setenv("ENVCTL_LEASE_TTL", "600s")
    holder = spawn("apply", "--auto-approve", **barrier.at("uploaded"))
    no_stray_processes.append(holder)
    barrier.wait_parked(holder)
    broken = current_lease(target)
    assert run(capsys, "force-unlock", broken.id)[0] == 0
    other = acquire(target, "apply", ttl=600)  # another operator takes the target meanwhile
    barrier.release()
    _, err = holder.communicate(timeout=CLI_TIMEOUT)
    assert holder.returncode == 1, err
    line = one_line_error(err)
    assert (
        f"lease {broken.id} on {target.url} was broken" in line
        and "stopped before switching the pointer" in line
    )
    assert f"lease ID {other.id}" in line
    assert read_state(target) == State(), "a pointer was switched without the lease"
    assert current_lease(target).id == other.id, "the stopped apply released someone else's lease"
    release(target, other)
