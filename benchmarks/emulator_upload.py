"""Peak memory of the MaxCompute emulator while pyodps uploads and downloads a large resource.

Runs ``envctl emulator`` as its own process, uploads a SIZE_MB resource through pyodps's
default chunked path (64 MiB parts + merge), streams it back, and prints the emulator's peak
RSS growth next to the pyodps client's own growth over the same transfer (the peer): the
emulator should stay flat (streamed to disk) while the client holds whole parts in memory.

    python benchmarks/emulator_upload.py [SIZE_MB]
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _machine import print_machine
from odps import ODPS

from envctl.testing.emulator_process import start_emulator_process
from envctl.testing.payload import write_random_file

MIB = 1024 * 1024


class PeakRss:
    """Samples a process's RSS every few ms; the max is the peak (VmHWM when Linux reports it)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / MIB


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print_machine()
    with tempfile.TemporaryDirectory(prefix="envctl-emulator-bench-") as work:
        source = Path(work) / "payload.bin"
        md5 = write_random_file(source, size_mb * MIB)
        server = start_emulator_process(Path(work) / "data")
        try:
            endpoint = json.loads(server.stdout.readline())["endpoint"]
            client = ODPS(
                "bench-ak", "bench-sk", project="bench", endpoint=endpoint, overwrite_global=False
            )
            client.exist_resource(
                "warm-up"
            )  # connection, tenant and project look-ups out of the way

            started = time.perf_counter()
            with PeakRss(server.pid) as emulator_up, PeakRss(os.getpid()) as client_up:
                with open(source, "rb") as handle:
                    client.create_resource("payload.bin", "archive", fileobj=handle)
            upload_s = time.perf_counter() - started

            started = time.perf_counter()
            digest = hashlib.md5()
            with PeakRss(server.pid) as emulator_down:
                # stream=True reads in rOffset/rSize windows of options.resource_chunk_size
                with client.open_resource("payload.bin", mode="rb", stream=True) as handle:
                    while chunk := handle.read(8 * MIB):
                        digest.update(chunk)
            download_s = time.perf_counter() - started
            assert digest.hexdigest() == md5, "downloaded bytes differ"
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"resource size:                         {size_mb} MiB (md5 verified after round trip)")
    print(f"upload   {upload_s:6.2f} s  ({size_mb / upload_s:6.1f} MiB/s)")
    print(f"download {download_s:6.2f} s  ({size_mb / download_s:6.1f} MiB/s)")
    print(
        f"emulator peak RSS growth, upload:      {emulator_up.growth_mb:7.1f} MiB "
        f"(baseline {emulator_up.baseline / MIB:.1f} MiB)"
    )
    print(f"emulator peak RSS growth, download:    {emulator_down.growth_mb:7.1f} MiB")
    print(f"pyodps client peak RSS growth, upload: {client_up.growth_mb:7.1f} MiB  (peer)")
    ratio = emulator_up.growth_mb / client_up.growth_mb if client_up.growth_mb > 0 else float("nan")
    print(f"emulator / client memory growth:       {ratio:7.3f}")
    print(f"emulator growth / resource size:       {emulator_up.growth_mb / size_mb:7.3f}")


if __name__ == "__main__":
    main()
