"""Peak memory of envctl uploading a large archive to MaxCompute (the emulator), vs. pyodps.

Starts ``envctl emulator`` as its own process, writes a SIZE_MB incompressible file, then in
two fresh processes measures peak RSS (``VmHWM``) of
  - envctl: ``OdpsTarget.put_file`` (streamed parts + merge, md5 verified), and
  - the peer: pyodps's own ``create_resource(fileobj=...)`` at default settings,
and prints both and their ratio. The budget is envctl < 150 MB for 200 MB sent one part at a
time (``parallel=1``); with the default N parts in flight, N - 1 more parts (16 MiB each).

    python benchmarks/upload_memory.py [SIZE_MB]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import print_machine

from envctl.targets.odps import DEFAULT_CHUNK_SIZE, DEFAULT_PARALLEL
from envctl.testing.emulator_process import emulator_process
from envctl.testing.payload import write_random_file

ENVCTL = """
import os, sys
from pathlib import Path
from envctl.targets import open_target
from envctl.spec.project import Project
target = open_target(sys.argv[1], Project(Path.cwd()))
target.put_file(sys.argv[4], Path(sys.argv[2]), md5=sys.argv[3])
from envctl.testing.payload import peak_rss
print(peak_rss() >> 20)
"""

PYODPS = """
import sys
from odps import ODPS
o = ODPS("bench", "bench", project="envctl_test", endpoint=sys.argv[1])
with open(sys.argv[2], "rb") as handle:
    o.create_resource("bench-pyodps.tar.gz", "archive", fileobj=handle)
from envctl.testing.payload import peak_rss
print(peak_rss() >> 20)
"""


def peak_mb(script: str, *args: str) -> int:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "bench", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "bench"}
    import os

    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return int(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print_machine()
    with tempfile.TemporaryDirectory(prefix="envctl-upload-bench-") as work:
        payload = Path(work) / "payload.bin"
        md5 = write_random_file(payload, size_mb << 20)
        with emulator_process(Path(work) / "emu") as info:
            serial_mb = peak_mb(
                ENVCTL, f"{info['target']}&parallel=1", str(payload), md5, "bench-1.tar.gz"
            )
            envctl_mb = peak_mb(ENVCTL, info["target"], str(payload), md5, "bench-n.tar.gz")
            pyodps_mb = peak_mb(PYODPS, info["endpoint"], str(payload))
    print(f"upload of {size_mb} MB to the emulator, peak RSS of the uploading process:")
    budget = 150 + (DEFAULT_PARALLEL - 1) * (DEFAULT_CHUNK_SIZE >> 20)
    print(f"  envctl, 1 part at a time   : {serial_mb:5d} MB  (budget 150 MB)")
    print(
        f"  envctl, {DEFAULT_PARALLEL} parts in flight  : {envctl_mb:5d} MB  (budget {budget} MB)"
    )
    print(f"  pyodps create_resource     : {pyodps_mb:5d} MB")
    print(
        f"  ratio pyodps/envctl        : {pyodps_mb / serial_mb:5.2f}x one part at a time, "
        f"{pyodps_mb / envctl_mb:.2f}x {DEFAULT_PARALLEL} in flight"
    )


if __name__ == "__main__":
    main()
