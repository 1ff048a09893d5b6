"""A state object on a shared target is input from others: a tampered field is corruption,
never a path."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from envctl.build.cache import Cache
from envctl.deploy.state import STATE_OBJECT
from envctl.targets import Target
from tests.hardening.helpers import Repo, one_line_error, run


@pytest.mark.parametrize("target_url", ["local"], indirect=True)
def test_exec_with_a_path_in_the_state_digest_leaves_the_victim_file_untouched(
    repo: Repo,
    target: Target,
    envctl_cache: Cache,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    state = json.loads(target.read(STATE_OBJECT))
    victim = tmp_path / "victim.tar.gz"
    victim.write_bytes(b"precious")
    # exec downloads to <cache>/exec/archives/<sha256>.tar.gz: this "digest" points at the victim.
    escape = os.path.relpath(tmp_path / "victim", envctl_cache.root / "exec" / "archives")
    state["environments"]["etl"]["versions"][0]["sha256"] = escape
    target.put_bytes(STATE_OBJECT, json.dumps(state).encode())

    code, _, err = run(capsys, "exec", "etl", "--", sys.executable, "-c", "pass")
    assert code == 1
    line = one_line_error(err)
    assert (
        f"state object {STATE_OBJECT} in " in line
        and "is corrupt" in line
        and "invalid sha256" in line
    )
    assert victim.read_bytes() == b"precious"
    for command in ("status", "plan"):  # no longer "in sync": the same corruption is reported
        code, _, err = run(capsys, command)
        assert code == 1 and "is corrupt" in one_line_error(err)
