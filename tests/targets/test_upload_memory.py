"""A 200 MB archive uploads to MaxCompute (the emulator) with bounded memory in envctl's process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from envctl.emulator import TOKEN_HEADER
from envctl.targets.odps import DEFAULT_CHUNK_SIZE, DEFAULT_PARALLEL
from envctl.testing.emulator_process import emulator_process
from envctl.testing.payload import write_random_file

UPLOAD = """
import sys
from pathlib import Path
import psutil
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.testing.payload import peak_rss
target = open_target(sys.argv[1], Project(Path.cwd()))
before = psutil.Process().memory_info().rss
info = target.put_file("big.tar.gz", Path(sys.argv[2]), md5=sys.argv[3])
peak = peak_rss()
print(info.size, peak - before, peak)
"""


@pytest.mark.slow
@pytest.mark.parametrize("parallel", [1, DEFAULT_PARALLEL])
def test_200mb_upload_streams_in_parts_with_bounded_memory(tmp_path: Path, parallel: int) -> None:
    size = 200 << 20
    payload = tmp_path / "payload.bin"
    md5 = write_random_file(payload, size)
    env = {
        **os.environ,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret",
    }
    # The emulator runs in its own process so nothing else in this test session shares its CPU.
    with emulator_process(tmp_path / "emu") as info:
        target = f"{info['target']}&parallel={parallel}"
        proc = subprocess.run(
            [sys.executable, "-c", UPLOAD, target, str(payload), md5],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
            timeout=300,
        )
        request = urllib.request.Request(
            f"{info['control']}/stats", headers={TOKEN_HEADER: info["control_token"]}
        )
        with urllib.request.urlopen(request) as reply:
            stats = json.loads(reply.read())
    assert proc.returncode == 0, proc.stderr
    uploaded, growth, _peak = (int(x) for x in proc.stdout.split())
    assert uploaded == size
    bound = (parallel + 1) * DEFAULT_CHUNK_SIZE + (8 << 20)  # parts in flight + one being read
    assert growth < bound, f"upload grew the process by {growth >> 20} MB"
    assert stats["requests"].get("POST part", 0) == -(-size // DEFAULT_CHUNK_SIZE)
