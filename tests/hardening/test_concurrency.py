"""Two real `envctl apply` processes on one target: the lease serialises them, nothing interleaves.

A holder renews its lease while it works, and stops before any pointer switch once it has lost it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from tests.hardening.helpers import Repo, assert_intact, envctl, lease_present, one_line_error, run, spawn

from envctl.deploy.lease import acquire, current_lease, release
from envctl.deploy.observe import read_state
from envctl.deploy.state import State
from envctl.targets import Target

HOLD_SECONDS = "3"


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_second_apply_fails_naming_the_holder_or_waits_for_it_and_both_land(
    repo: Repo, target: Target, tmp_path: Path, no_stray_processes, capsys
) -> None:
    # Two checkouts sharing one target: X declares nlp, Y declares etl.
    other = Repo(tmp_path / "other", repo.templates)
    shutil.copytree(repo.root, other.root)
    repo.drop("etl")
    other.drop("nlp")

    holder = spawn("apply", "--auto-approve", ENVCTL_TEST_DELAY_AT=f"built:{HOLD_SECONDS}")
    no_stray_processes.append(holder)
    wait_for(lambda: lease_present(target) or holder.poll() is not None)
    assert holder.poll() is None, holder.communicate()[1]

    refused = envctl("apply", "--auto-approve", ENVCTL_ROOT=str(other.root))
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("envctl: error: target ") and "is locked by" in line
    assert f":{holder.pid} (apply, since" in line and "--lock-timeout" in line and "force-unlock" in line

    waiter = spawn("apply", "--auto-approve", "--lock-timeout", "60s", ENVCTL_ROOT=str(other.root))
    no_stray_processes.append(waiter)
    _, holder_err = holder.communicate(timeout=120)
    assert holder.returncode == 0, holder_err
    _, waiter_err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, waiter_err
    assert f":{holder.pid} (apply" in waiter_err and "waiting up to 60s" in waiter_err

    state = assert_intact(target)
    assert {name: env.current for name, env in state.environments.items()} == {"nlp": 1, "etl": 1}
    assert state.serial == 2, "each apply wrote the index exactly once, the second on top of the first"
    assert read_state(target) == state
    assert not lease_present(target)
    assert run(capsys, "plan", "--only", "nlp", "--detailed-exitcode")[0] == 0
    assert run(capsys, "--root", str(other.root), "plan", "--only", "etl", "--detailed-exitcode")[0] == 0


def test_slow_apply_renews_a_short_lease_so_another_apply_cannot_take_it(
    repo: Repo, target: Target, monkeypatch: pytest.MonkeyPatch, no_stray_processes, capsys
) -> None:
    ttl = 0.8
    monkeypatch.setenv("ENVCTL_LEASE_TTL", f"{ttl}s")
    holder = spawn("apply", "--auto-approve", ENVCTL_TEST_DELAY_AT="built:1")  # 1 s per environment
    no_stray_processes.append(holder)
    wait_for(lambda: lease_present(target) or holder.poll() is not None)
    assert holder.poll() is None, holder.communicate()[1]
    first = current_lease(target)
    time.sleep(1.5 * ttl)  # unrenewed, the lease would have lapsed by now
    renewed = current_lease(target)
    assert renewed.id == first.id and renewed.expires > first.expires and renewed.expires > time.time()
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 1 and f"lease ID {first.id}" in one_line_error(err), err
    _, holder_err = holder.communicate(timeout=60)
    assert holder.returncode == 0, holder_err
    assert {name: env.current for name, env in assert_intact(target).environments.items()} == {"nlp": 1, "etl": 1}
    assert not lease_present(target)


def test_apply_whose_lease_is_force_unlocked_stops_before_switching_a_pointer(
    repo: Repo, target: Target, monkeypatch: pytest.MonkeyPatch, no_stray_processes, capsys
) -> None:
    monkeypatch.setenv("ENVCTL_LEASE_TTL", "0.6s")  # its heartbeat also runs into the broken lease
    holder = spawn("apply", "--auto-approve", ENVCTL_TEST_DELAY_AT="uploaded:1.5")
    no_stray_processes.append(holder)
    wait_for(lambda: lease_present(target) or holder.poll() is not None)
    assert holder.poll() is None, holder.communicate()[1]
    broken = current_lease(target)
    assert run(capsys, "force-unlock", broken.id)[0] == 0
    other = acquire(target, "apply", ttl=60)  # another operator takes the target meanwhile
    _, err = holder.communicate(timeout=60)
    assert holder.returncode == 1, err
    line = one_line_error(err)
    assert f"lease {broken.id} on {target.url} was broken" in line and "stopped before switching the pointer" in line
    assert f"lease ID {other.id}" in line
    assert read_state(target) == State(), "a pointer was switched without the lease"
    assert current_lease(target).id == other.id, "the stopped apply released someone else's lease"
    release(target, other)
