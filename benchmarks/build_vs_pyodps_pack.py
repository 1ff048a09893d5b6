"""envctl build vs ``pyodps-pack --no-docker`` on the same requirements, measured in one run.

For each requirement set: pyodps-pack (cold, as it has no cache of its own beyond pip's),
envctl cold (empty envctl cache: resolve + download + install + pack) and envctl warm (same
lock again: archive cache hit). Prints wall times, the cold speed-up ratio and archive sizes.

    python benchmarks/build_vs_pyodps_pack.py [--python 3.11] [--only NAME]

Needs network access to PyPI and ``pyodps-pack`` on PATH (it ships with pyodps).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envctl.build.builder import build_requirements
from envctl.build.cache import Cache

CASES = {
    "seed": ["jieba==0.40", "cloudpickle", "pandas"],
    "ml": ["scikit-learn>1.0", "xgboost>1.0"],
}


def pyodps_pack(requirements: list[str], python: str, workdir: Path) -> tuple[float, int]:
    exe = shutil.which("pyodps-pack") or str(Path(sys.executable).with_name("pyodps-pack"))
    output = workdir / "pyodps-pack.tar.gz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # same isolation from local pip config as envctl
    start = time.perf_counter()
    subprocess.run(
        [exe, "--no-docker", "--use-default-image-tag", "--python-version", python, "-o", str(output), *requirements],
        cwd=workdir, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start, output.stat().st_size


def envctl_build(requirements: list[str], python: str, cache: Cache) -> tuple[float, int, str]:
    start = time.perf_counter()
    _, built = build_requirements(requirements, python=python, cache=cache, refresh=True)
    return time.perf_counter() - start, built.size, built.sha256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.11")
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    for name, requirements in CASES.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="envctl-bench-") as tmp:
            work = Path(tmp)
            cache = Cache(work / "cache")
            peer_s, peer_size = pyodps_pack(requirements, args.python, work)
            cold_s, size, sha = envctl_build(requirements, args.python, cache)
            start = time.perf_counter()
            _, warm = build_requirements(requirements, python=args.python, cache=cache)
            warm_s = time.perf_counter() - start
            assert warm.cached and warm.sha256 == sha
        print(f"{name}: {' '.join(requirements)} (CPython {args.python})")
        print(f"  pyodps-pack --no-docker : {peer_s:7.2f} s  {peer_size / 1e6:8.1f} MB")
        print(f"  envctl cold             : {cold_s:7.2f} s  {size / 1e6:8.1f} MB  ({peer_s / cold_s:.1f}x faster)")
        print(f"  envctl warm (cache hit) : {warm_s:7.3f} s  ({peer_s / warm_s:.0f}x faster)")
        print(f"  size ratio envctl/pyodps-pack: {size / peer_size:.2f}")


if __name__ == "__main__":
    main()
