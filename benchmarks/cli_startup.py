"""Start-up time of the ``envctl`` command, as a ratio to ``python -c pass`` in the same run.

Targets (issue #10): ``envctl --version`` and ``envctl --help`` <= 0.15 s; ``envctl plan`` and
``envctl status`` on the repository's example environments against the local target <= 0.4 s.
Each case runs ``--runs`` times as a fresh process; the median wall time is reported with its
ratio to the interpreter's own start-up, and the median CPU time (user + system) of the child,
which a machine loaded by other work disturbs much less than wall time.

Run: python benchmarks/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_line

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"--version": 0.15, "--help": 0.15, "plan": 0.4, "status": 0.4}


def envctl_command() -> list[str]:
    """The installed console script when there is one (what users run), else ``-m envctl``."""
    script = Path(sys.executable).with_name("envctl")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "envctl"]


def timed(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``runs`` fresh processes (after one uncounted warm-up)."""
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(command)} failed: {done.stderr.decode(errors='replace').strip()}"
            )
        if i:
            walls.append(elapsed)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as store:
        env = {
            **os.environ,
            "ENVCTL_TARGET": f"local://{store}",
            "ENVCTL_ROOT": str(REPO),
            "NO_COLOR": "1",
        }
        base, base_cpu = timed([sys.executable, "-c", "pass"], args.runs, env)
        print(f"python -c pass    {base:.3f} s wall, {base_cpu:.3f} s cpu")
        failed = []
        for case, limit in TARGETS.items():
            took, cpu = timed([*envctl_command(), case], args.runs, env)
            verdict = "ok" if took <= limit else "OVER"
            if took > limit:
                failed.append(case)
            print(
                f"envctl {case:<10} {took:.3f} s wall ({took / base:4.1f}x python -c pass), "
                f"{cpu:.3f} s cpu ({cpu / base_cpu:4.1f}x)  target {limit} s: {verdict}"
            )
    if failed:
        print(f"over target: {', '.join(failed)} (on a loaded machine, compare the ratios)")


if __name__ == "__main__":
    main()
