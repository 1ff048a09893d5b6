"""Rebuild after a one-package lock change vs a cold build of the same environment.

Two locks of the seed environment (``jieba==0.40 cloudpickle pandas``, CPython 3.11) that
differ only in ``six`` (1.16.0 -> 1.17.0). Every file is downloaded first (not timed); then,
measured in one run:

* cold: build the second lock with only the downloads cached (install every wheel,
  compress everything);
* rebuild: build the first lock, then time the second (installed trees per wheel hash and
  compressed segments of unchanged packages are reused);
* peer: ``tar czf`` of the same installed tree (single-threaded gzip, no reuse).

Prints the machine line, the times, the ratio rebuild/cold (target <= 0.20), that both
archives are byte-identical, and the size cost of cutting the gzip stream at packages.

    python benchmarks/rebuild_one_package.py [--python 3.11]

Needs network access to PyPI (resolution and downloads, not timed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _machine import print_machine, ratio

from envctl import timings
from envctl.build.archive import write_archive
from envctl.build.builder import build_lock, build_requirements
from envctl.build.cache import Cache
from envctl.build.fetch import fetch
from envctl.deploy.plan import package_changes
from envctl.lock.lockfile import Lock

BASE = ["jieba==0.40", "cloudpickle", "pandas"]
CHANGE = ("six==1.16.0", "six==1.17.0")
DERIVED = ("installed", "segments", "archives")


def reset(cache: Cache) -> None:
    """Forget everything but the downloads (and wheels built from sdists)."""
    for name in DERIVED:
        shutil.rmtree(cache.root / name, ignore_errors=True)


def versions(lock: Lock) -> list[tuple[str, str]]:
    return [(p.name, p.version) for p in lock.packages]


def timed_build(lock: Lock, cache: Cache) -> tuple[float, dict[str, float], str, int]:
    with timings.recording() as phases:
        start = time.perf_counter()
        built = build_lock(lock, index_urls=(), progress=False, cache=cache)
        elapsed = time.perf_counter() - start
    assert not built.cached
    return elapsed, phases, built.sha256, built.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.11")
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory(prefix="envctl-rebuild-") as tmp:
        work = Path(tmp)
        cache = Cache(work / "cache")
        before, _ = build_requirements([*BASE, CHANGE[0]], python=args.python, cache=cache)
        after, _ = build_requirements([*BASE, CHANGE[1]], python=args.python, cache=cache)
        fetch(list(before.packages) + list(after.packages), cache, progress=False)

        reset(cache)
        cold_s, cold_phases, cold_sha, size = timed_build(after, cache)
        reset(cache)
        build_lock(before, index_urls=(), progress=False, cache=cache)
        re_s, re_phases, re_sha, _ = timed_build(after, cache)

        trees = sorted(p for p in (cache.root / "installed").glob("*/*") if p.is_dir())
        merged = work / "merged"
        for tree in trees:
            shutil.copytree(tree / "packages", merged / "packages", dirs_exist_ok=True)
        start = time.perf_counter()
        subprocess.run(
            ["tar", "czf", str(work / "peer.tar.gz"), "-C", str(merged), "packages"], check=True
        )
        peer_s = time.perf_counter() - start
        whole = write_archive(merged, work / "unsegmented.tar.gz", progress=False)

    def phases(times: dict[str, float]) -> str:
        return ", ".join(f"{k} {times.get(k, 0.0):.2f} s" for k in ("download", "install", "pack"))

    diff = package_changes(versions(before), versions(after))
    print(f"seed environment, lock change: {', '.join(diff)}")
    print(f"  envctl cold build (downloads cached) : {cold_s:7.2f} s  ({phases(cold_phases)})")
    print(f"  envctl rebuild after the change      : {re_s:7.2f} s  ({phases(re_phases)})")
    print(f"  tar czf of the same tree (peer)      : {peer_s:7.2f} s")
    print(f"  ratio rebuild / cold: {re_s / cold_s:.3f}  (target <= 0.20)")
    print(f"  ratio rebuild vs tar czf: {ratio(re_s, peer_s)}")
    print(f"  byte-identical to the cold build: {re_sha == cold_sha}")
    cost = (size / whole.size - 1) * 100
    print(f"  size cost of segments: {size} vs {whole.size} bytes unsegmented ({cost:+.2f} %)")


if __name__ == "__main__":
    main()
