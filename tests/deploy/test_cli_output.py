"""What a CI log shows: a line per step with sizes and durations, one size format, no wrapping."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from envctl.build.size import human
from envctl.deploy.observe import current_resource
from envctl.spec.project import Project
from envctl.targets import open_target

TIMEOUT = 300


def _envctl(project, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envctl", "--root", str(project.root), *args],
        capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "ENVCTL_TARGET": "", **env},
    )  # fmt: skip


def test_apply_in_a_ci_log_prints_each_step_and_one_size_format(project) -> None:
    project.spec("demo", "3.11", ["tinypure tinybig"])
    assert project.run("lock", "demo") == 0
    done = _envctl(project, "apply", "--auto-approve")
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stderr.splitlines() if line.startswith("demo: ")]
    assert steps[1] == "demo: downloading 2 files", steps  # pip's lock has no sizes: they follow
    assert re.fullmatch(r"demo: downloaded 2 files \(1\.0 MiB\)", steps[2]), steps
    assert steps[3] == "demo: installing 2 packages"
    assert re.fullmatch(r"demo: packing( 1\.0 MiB)?", steps[4]), steps  # overlaps installing
    deployed = current_resource(open_target(None, Project(project.root)), "demo")
    assert steps[5] == f"demo: uploading {human(deployed.size)}"
    assert re.fullmatch(r"demo: done in \d+\.\d s", steps[6]), steps
    assert (
        f"uploaded ({human(deployed.size)}), now v1" in done.stderr and "bytes" not in done.stderr
    )

    built = _envctl(project, "build", "demo")
    assert f"size {human(deployed.size)} (" in built.stdout
    status = _envctl(project, "status", COLUMNS="40")
    row = next(line for line in status.stdout.splitlines() if line.startswith("demo "))
    assert human(deployed.size) in row and row.endswith("in sync")

    project.spec("demo", "3.11", ["tinypure tinybig tinydep"])  # a long reason on a narrow terminal
    assert project.run("lock", "demo") == 0
    status = _envctl(project, "status", COLUMNS="40")
    rows = status.stdout.splitlines()
    assert (
        len(rows) == 3
        and rows[2].startswith("demo ")
        and re.search(r"lock changed \(\w{12} -> \w{12}\)$", rows[2])
    )
