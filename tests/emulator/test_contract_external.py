"""The contract suite runs unchanged against an endpoint it did not start: here a separately
started ``envctl emulator``, exactly as a user points it at a real MaxCompute project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envctl.testing.emulator_fixtures import CONTRACT_ENDPOINT_VAR, CONTRACT_PROJECT_VAR
from envctl.testing.emulator_process import emulator_process

ROOT = Path(__file__).resolve().parents[2]


def test_contract_suite_passes_against_a_separately_started_emulator(tmp_path: Path) -> None:
    with emulator_process(tmp_path / "data") as info:
        env = {
            **os.environ,
            CONTRACT_ENDPOINT_VAR: info["endpoint"],
            CONTRACT_PROJECT_VAR: "contract_proj",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "contract-ak",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "contract-sk",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "contract",
                "-q",
                "-p",
                "no:cacheprovider",
                "-rs",
                "tests/emulator/test_live_facts.py",
                "tests/emulator/test_resources_contract.py",
                "tests/targets/test_odps_live_facts.py",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        listing = subprocess.run(
            [sys.executable, "-c", LIST, info["endpoint"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "16 passed" in result.stdout, result.stdout
    assert listing.stdout.split() == [], "every object the suite created was deleted"


LIST = """
import sys
from odps import ODPS
client = ODPS("ak", "sk", project="contract_proj", endpoint=sys.argv[1], overwrite_global=False)
print(" ".join(r.name for r in client.list_resources()))
"""
