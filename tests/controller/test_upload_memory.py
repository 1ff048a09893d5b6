"""A 200 MB archive uploads to MaxCompute (the emulator) with bounded memory in envctl's process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envctl.testing.payload import write_random_file

UPLOAD = """
import resource, sys
from pathlib import Path
import psutil
from envctl.project import Project
from envctl.targets import open_target
target = open_target(sys.argv[1], Project(Path.cwd()))
before = psutil.Process().memory_info().rss
info = target.put_file("big.tar.gz", Path(sys.argv[2]), md5=sys.argv[3])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(info.size, peak - before, peak)
"""


@pytest.mark.slow
def test_200mb_upload_streams_in_parts_with_bounded_memory(odps_emulator, tmp_path: Path) -> None:
    size = 200 << 20
    payload = tmp_path / "payload.bin"
    md5 = write_random_file(payload, size)
    env = {**os.environ, "ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
    proc = subprocess.run(
        [sys.executable, "-c", UPLOAD, odps_emulator.target_url("envctl_test"), str(payload), md5],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    uploaded, growth, peak = (int(x) for x in proc.stdout.split())
    assert uploaded == size
    assert growth < 48 << 20, f"upload grew the process by {growth >> 20} MB"
    assert odps_emulator.stats.count(kind="part") >= size // (8 << 20)
