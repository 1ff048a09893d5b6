"""Debris of a SIGKILLed upload (a local staging file, unmerged odps parts) is collected by gc
after --grace, never before.

Renewal records of broken leases go too (they are dead whatever their age: gc holds the lease).
"""

from __future__ import annotations

import json
import signal

from envctl.deploy.lease import renewal_object
from envctl.deploy.observe import read_state
from envctl.deploy.state import PREFIX, TEMP_PREFIX
from envctl.targets import Target
from tests.hardening.helpers import Repo, assert_intact, envctl, observed_archives, run

OWN = (PREFIX, TEMP_PREFIX)


def gc_json(capsys, *args: str) -> dict:
    code, out, err = run(capsys, "gc", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def test_gc_removes_debris_of_a_killed_upload_once_older_than_grace(
    repo: Repo, target: Target, capsys
) -> None:
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0, err
    repo.use("b", "nlp")
    killed = envctl(
        "apply", "--auto-approve", ENVCTL_TEST_CRASH_AT="upload:2"
    )  # in nlp's archive upload
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    debris = sorted(info.name for info in target.leftovers(OWN))
    assert debris and all("envctl-nlp-" in name for name in debris)
    state, archives = read_state(target), observed_archives(target)

    assert (
        gc_json(capsys, "--grace", "1h")["leftovers"] == []
    )  # young: could be an upload still running
    assert sorted(info.name for info in target.leftovers(OWN)) == debris

    stray = renewal_object("0123456789ab")  # as a broken holder's late heartbeat leaves it
    target.put_bytes(stray, b'{"id": "0123456789ab", "expires": 0}')

    dry = gc_json(capsys, "--grace", "0s", "--keep", "5", "--dry-run")
    assert dry["leftovers"] == debris and dry["objects"] == [stray] and dry["versions"] == {}
    assert sorted(info.name for info in target.leftovers(OWN)) == debris

    code, _, err = run(capsys, "gc", "--grace", "0s", "--keep", "5")
    assert code == 0, err
    assert all(f"Deleted {name} (left by an interrupted upload)" in err for name in debris), err
    assert target.leftovers(OWN) == [] and target.stat(stray) is None
    assert read_state(target) == state and observed_archives(target) == archives
    assert_intact(target)
