"""Faults injected into the emulator while the real CLI applies: transient ones are retried,
persistent ones end cleanly.
"""

from __future__ import annotations

import pytest

from envctl.deploy.observe import read_state
from envctl.emulator import Emulator
from envctl.targets import Target
from tests.hardening.helpers import Repo, assert_intact, envctl, one_line_error, run

pytestmark = pytest.mark.parametrize("target_url", ["odps"], indirect=True)


def test_transient_5xx_and_dropped_connections_are_retried_and_the_apply_succeeds(
    repo: Repo, target: Target, target_url: str, odps_emulator: Emulator
) -> None:
    faults = odps_emulator.faults
    faults.fail(503, kind="list")  # observing the target
    faults.fail(500, kind="create")  # the first create: taking the lease
    faults.fail(503, kind="part", nth=2, times=2)  # two parts of the archive upload
    faults.drop(kind="part", nth=5, after_bytes=1000)  # the connection dies mid-part
    faults.fail(502, kind="merge")  # publishing the archive
    faults.fail(503, kind="meta")  # verifying size/md5
    result = envctl("apply", "--auto-approve", "--target", target_url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert all(rule["fired"] == (rule["times"] or 1) for rule in faults.rules()), [
        (r["kind"], r["path"], r["fired"], r["seen"]) for r in faults.rules()
    ]
    state = assert_intact(target)
    assert {name: env.current for name, env in state.environments.items()} == {"nlp": 1, "etl": 1}
    faults.clear()
    assert envctl("plan", "--detailed-exitcode", "--target", target_url).returncode == 0
    leftovers = [i.name for i in target.list("envctl-") if ".part.tmp." in i.name]
    assert leftovers == [], "parts of failed upload attempts were left behind"


@pytest.mark.parametrize(
    "fault, phrase",
    [
        (dict(action="error", status=503, kind="part", times=None), "failed after 5 attempts"),
        (dict(action="drop", kind="part", after_bytes=100, times=None), "failed after 5 attempts"),
        (dict(action="error", status=500, kind="list", times=None), "failed after 5 attempts"),
    ],
    ids=["part-503", "part-drop", "list-500"],
)
def test_persistent_failure_is_one_clear_line_exit_1_and_changes_nothing(
    repo: Repo,
    target: Target,
    target_url: str,
    odps_emulator: Emulator,
    fault: dict,
    phrase: str,
    capsys,
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    before = read_state(target)
    repo.use("b", "nlp")
    odps_emulator.faults.add_from_json(fault)
    result = envctl("apply", "--auto-approve", "--target", target_url)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert phrase in line and "odps://envctl_test" in line
    odps_emulator.faults.clear()
    assert read_state(target) == before
    assert_intact(target)
    assert not [
        i.name
        for i in target.list("envctl-")
        if ".part.tmp." in i.name or i.name == "envctl-lease.json"
    ]
    code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 0, err
    assert read_state(target).env("nlp").current == 2


def test_refused_credentials_are_a_clear_line_not_a_retry_loop(
    repo: Repo, target_url: str, odps_emulator: Emulator
) -> None:
    odps_emulator.faults.add_from_json(dict(action="error", status=403, kind="list", times=None))
    result = envctl("apply", "--auto-approve", "--target", target_url)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert (
        "MaxCompute refused list" in line and "HTTP 403" in line and "check the credentials" in line
    ), line
    assert odps_emulator.stats.count(kind="list") == 1, "an authorization error was retried"
