"""Parallel part uploads: a 300 MB archive to the emulator with 50 ms of latency per request.

Starts ``envctl emulator`` as its own process with LATENCY seconds added to every request,
then uploads a SIZE_MB incompressible file through ``OdpsTarget.put_file`` in fresh
processes: one part at a time (``parallel=1``, the peer: how the target uploaded before)
and N parts in flight (``parallel=N``). Prints the machine line, both times, the speed-up
(target >= 2x), the time spent sending parts (the journal write overlaps it) and the rest,
and each run's peak RSS growth against the budget (N + 1) x part + 60 MB.

Measured twice: with the emulator's data in memory (a tmpfs, where there is one) and on disk.
The service stores parts on its own machines; here the emulator shares the client's two cores
and disk, and on disk the page-cache writeback of 300 MB competes with the parallel sends.

    python benchmarks/parallel_upload.py [--size-mb 300] [--parallel 4] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from _machine import print_machine, ratio

from envctl.emulator import TOKEN_HEADER
from envctl.targets.odps import DEFAULT_CHUNK_SIZE
from envctl.testing.emulator_process import emulator_process
from envctl.testing.payload import write_random_file

UPLOAD = """
import sys, time
from pathlib import Path
import psutil
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.testing.payload import peak_rss
target = open_target(sys.argv[1], Project(Path.cwd()))
target.stat("warm-up")  # connection and client set-up out of the way
send_parts, sending = target._send_parts, []

def timed(*args, **kwargs):
    started = time.perf_counter()
    try:
        return send_parts(*args, **kwargs)
    finally:
        sending.append(time.perf_counter() - started)

target._send_parts = timed
before = psutil.Process().memory_info().rss
start = time.perf_counter()
target.put_file(sys.argv[2], Path(sys.argv[3]), md5=sys.argv[4])
print(time.perf_counter() - start, peak_rss() - before, sum(sending))
"""


MEMORY = Path("/dev/shm")
"""Where the emulator keeps its data first: a tmpfs, so this machine's disk (shared with the
uploading client, unlike the service's storage) does not stand in for the service's."""


def control(info: dict, path: str, body: dict) -> None:
    request = urllib.request.Request(
        f"{info['control']}/{path}",
        data=json.dumps(body).encode(),
        headers={TOKEN_HEADER: info["control_token"], "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as reply:
        reply.read()


def upload(
    info: dict, parallel: int, name: str, payload: Path, md5: str
) -> tuple[float, int, float]:
    """(seconds, peak RSS growth, seconds sending parts) of one upload in a fresh process."""
    env = {**os.environ, "ALIBABA_CLOUD_ACCESS_KEY_ID": "i", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}
    target = f"{info['target']}&parallel={parallel}"
    proc = subprocess.run(
        [sys.executable, "-c", UPLOAD, target, name, str(payload), md5],
        capture_output=True, text=True, env=env, check=True, cwd=payload.parent,
    )  # fmt: skip
    seconds, growth, sending = proc.stdout.split()
    return float(seconds), int(growth), float(sending)


def measure(
    store: Path, payload: Path, md5: str, parallel: int, latency: float
) -> tuple[tuple[float, int, float], tuple[float, int, float]]:
    """(serial, parallel) upload results against an emulator keeping its data under ``store``."""
    with emulator_process(store) as info:
        control(info, "faults", {"action": "latency", "delay": latency, "times": None})
        serial = upload(info, 1, "bench-serial.tar.gz", payload, md5)
        many = upload(info, parallel, "bench-parallel.tar.gz", payload, md5)
    return serial, many


def report(where: str, parallel: int, serial: tuple, many: tuple) -> None:
    (one_s, one_rss, one_send), (many_s, many_rss, many_send) = serial, many
    budget = (parallel + 1) * DEFAULT_CHUNK_SIZE + (60 << 20)
    print(f"emulator data {where}:")
    print(f"  1 part at a time (peer)  : {one_s:7.2f} s  peak RSS +{one_rss >> 20} MB")
    verdict = "OK" if many_rss <= budget else "OVER"
    print(
        f"  {parallel} parts in flight       : {many_s:7.2f} s  peak RSS +{many_rss >> 20} MB "
        f"(budget {budget >> 20} MB: {verdict})"
    )
    print(
        f"  sending the parts: {one_send:.2f} s vs {many_send:.2f} s "
        f"({one_send / many_send:.2f}x faster); "
        f"the rest (merge, check) {one_s - one_send:.2f} s vs {many_s - many_send:.2f} s"
    )
    print(f"  ratio serial / parallel: {one_s / many_s:.2f}  (target >= 2; {ratio(many_s, one_s)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    print_machine()
    print(
        f"upload of {args.size_mb} MB in {DEFAULT_CHUNK_SIZE >> 20} MiB parts, "
        f"{args.latency * 1000:.0f} ms per request:"
    )
    with tempfile.TemporaryDirectory(prefix="envctl-parallel-upload-") as work:
        payload = Path(work) / "payload.bin"
        md5 = write_random_file(payload, args.size_mb << 20)
        places = [("on disk", Path(work))]
        if MEMORY.is_dir():
            places.insert(0, ("in memory (tmpfs)", MEMORY))
        for where, parent in places:
            with tempfile.TemporaryDirectory(prefix="envctl-emulator-", dir=parent) as store:
                serial, many = measure(Path(store), payload, md5, args.parallel, args.latency)
            report(where, args.parallel, serial, many)


if __name__ == "__main__":
    main()
