"""The documented seed example against the real registry: jieba 0.40 from PyPI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envctl.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_udf.py"


@pytest.mark.network
@pytest.mark.slow
def test_seed_example_runs_under_exec_with_the_deployed_environment(project, capfd):
    (project.environments_dir / "nlp.yaml").write_text(
        'name: nlp\npython: "3.11"\n'
        "index_url: https://pypi.org/simple\n"
        "requirements: [jieba==0.40]\n"
    )
    assert main(["lock", "nlp"]) == 0
    assert main(["apply", "--auto-approve"]) == 0
    capfd.readouterr()
    assert main(["exec", "nlp", "--", "python", str(EXAMPLE)]) == 0
    rows = capfd.readouterr().out.split()
    assert rows == ["hello_0.40", "world_0.40"]


@pytest.mark.network
@pytest.mark.slow
def test_seed_example_builds_in_the_background_in_client_mode(
    project, odps_target_url, monkeypatch
):
    (
        project.environments_dir / "nlp.yaml"
    ).unlink()  # not defined here, not deployed: requirements only
    monkeypatch.setenv("ENVCTL_INDEX_URL", "https://pypi.org/simple")
    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    monkeypatch.setenv("ENVCTL_TARGET", odps_target_url)
    code = (
        f"import runpy; m = runpy.run_path({str(EXAMPLE)!r}); "
        "from envctl.udf import pending, ready, resources_of; "
        "assert pending(); ready(); "
        "print(resources_of(m['process'])[0], resources_of(m['process_adhoc'])[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=False
    )
    assert out.returncode == 0, out.stderr
    named, adhoc = out.stdout.split()
    assert named == adhoc and adhoc.startswith("envctl_test/resources/envctl_tmp-")
