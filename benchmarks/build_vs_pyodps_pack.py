"""Cold lock + build: envctl vs ``uv pip install --target`` + ``tar czf`` vs ``pyodps-pack``.

For each requirement set, measured in one run, each with empty caches of its own:

* pyodps-pack --no-docker (pip resolves and installs, then packs);
* uv + tar: ``uv pip install --target DIR --python-version X --python-platform
  x86_64-manylinux2014 --only-binary :all: --no-binary <sdist-only packages>`` then ``tar czf``
  of DIR (the floor: the fastest resolver/installer plus single-threaded gzip; no
  reproducibility, no lock). Wheels only, because without it uv compiles numpy from its sdist
  (its newest wheels are manylinux_2_28, which manylinux2014 cannot use), where pip and envctl
  fall back to the newest version with a usable wheel;
* envctl cold: resolve (uv verified against pip's rules, else pip, the resolver of record)
  + download + install + pack, with the breakdown by phase (the same phases ``envctl -v build``
  prints, resolve split into uv / verify / pip; install and pack overlap, so their sum exceeds
  their share of the wall time). Its uv and pip caches are cold too, under the run's dir;
* envctl warm: the same inputs again (lock and archive cache hit).

Prints the machine line, the times and the ratios envctl/uv+tar and pyodps-pack/envctl.

    python benchmarks/build_vs_pyodps_pack.py [--python 3.11] [--only NAME] [--skip-pyodps-pack]

Needs network access to PyPI, ``uv`` and ``pyodps-pack`` (it ships with pyodps) on PATH or
next to this interpreter.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _machine import print_machine, ratio

from envctl import timings
from envctl.build.builder import build_requirements
from envctl.build.cache import Cache

CASES = {
    "seed": ["jieba==0.40", "cloudpickle", "pandas"],
    "ml": ["scikit-learn>1.0", "xgboost>1.0"],
}
SDIST_ONLY = {"seed": ["jieba"], "ml": []}
"""Packages published only as sdists (pure Python): uv may build those, nothing else."""
PHASES = ("resolve", "download", "install", "pack")
RESOLVE_PARTS = ("resolve: uv", "resolve: verify", "resolve: pip")


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


@contextmanager
def _env(**values: str) -> Iterator[dict[str, str]]:
    """Environment of a cold run: no user pip/uv configuration, caches under the run's dir."""
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(("PIP_", "UV_"))]:
        del os.environ[key]
    os.environ["PIP_CONFIG_FILE"] = os.devnull
    os.environ.update(values)
    try:
        yield dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pyodps_pack(requirements: list[str], python: str, work: Path) -> tuple[float, int]:
    output = work / "pyodps-pack.tar.gz"
    with _env(PIP_CACHE_DIR=str(work / "pip-cache-pyodps")) as env:
        start = time.perf_counter()
        subprocess.run(
            [_exe("pyodps-pack"), "--no-docker", "--use-default-image-tag", "--python-version",
             python, "-o", str(output), *requirements],
            cwd=work, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return time.perf_counter() - start, output.stat().st_size


def uv_tar(
    requirements: list[str], sdist_only: list[str], python: str, work: Path
) -> tuple[float, float, int]:
    """(install seconds, tar seconds, archive bytes) of uv pip install --target + tar czf."""
    target, output = work / "uv-target", work / "uv.tar.gz"
    with _env(UV_CACHE_DIR=str(work / "uv-cache"), UV_NO_CONFIG="1") as env:
        start = time.perf_counter()
        subprocess.run(
            [_exe("uv"), "pip", "install", "--quiet", "--target", str(target), "--python-version",
             python, "--python-platform", "x86_64-manylinux2014", "--only-binary", ":all:",
             *(f"--no-binary={name}" for name in sdist_only), *requirements],
            env=env, check=True,
        )  # fmt: skip
        installed = time.perf_counter()
        subprocess.run(["tar", "czf", str(output), "-C", str(target), "."], env=env, check=True)
        return installed - start, time.perf_counter() - installed, output.stat().st_size


def envctl_cold(
    requirements: list[str], python: str, work: Path
) -> tuple[float, dict[str, float], int, str]:
    cache = Cache(work / "envctl-cache")
    caches = {
        "PIP_CACHE_DIR": str(work / "pip-cache-envctl"),
        "UV_CACHE_DIR": str(work / "uv-cache-envctl"),
    }
    with _env(**caches), timings.recording() as phases:
        start = time.perf_counter()
        _, built = build_requirements(requirements, python=python, cache=cache, refresh=True)
        elapsed = time.perf_counter() - start
    return elapsed, phases, built.size, built.sha256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.11")
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--skip-pyodps-pack", action="store_true", help="only envctl vs uv + tar")
    args = parser.parse_args()
    print_machine()
    for name, requirements in CASES.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="envctl-bench-") as tmp:
            work = Path(tmp)
            peer = None if args.skip_pyodps_pack else pyodps_pack(requirements, args.python, work)
            uv_s, tar_s, uv_size = uv_tar(requirements, SDIST_ONLY[name], args.python, work)
            cold_s, phases, size, sha = envctl_cold(requirements, args.python, work)
            start = time.perf_counter()
            _, warm = build_requirements(
                requirements, python=args.python, cache=Cache(work / "envctl-cache")
            )
            warm_s = time.perf_counter() - start
            assert warm.cached and warm.sha256 == sha
        floor = uv_s + tar_s
        breakdown = ", ".join(f"{p} {phases.get(p, 0.0):.1f} s" for p in PHASES)
        parts = ", ".join(f"{p[9:]} {phases[p]:.1f} s" for p in RESOLVE_PARTS if p in phases)
        print(f"{name}: {' '.join(requirements)} (CPython {args.python})")
        if peer is not None:
            print(f"  pyodps-pack --no-docker : {peer[0]:7.2f} s  {peer[1] / 1e6:8.1f} MB")
        print(
            f"  uv install + tar czf    : {floor:7.2f} s  {uv_size / 1e6:8.1f} MB  "
            f"(uv {uv_s:.1f} s + tar {tar_s:.1f} s)"
        )
        print(f"  envctl cold lock+build  : {cold_s:7.2f} s  {size / 1e6:8.1f} MB  ({breakdown})")
        if parts:
            print(f"    resolve = {parts} (+ native-code checks)")
        print(f"  envctl warm (cache hit) : {warm_s:7.3f} s")
        print(
            f"  ratio envctl cold / (uv + tar): {cold_s / floor:.2f}  "
            f"(target <= 1.0; {ratio(cold_s, floor)})"
        )
        if peer is not None:
            print(
                f"  ratio pyodps-pack / envctl cold: {peer[0] / cold_s:.2f}  "
                f"({ratio(cold_s, peer[0])})"
            )
            print(f"  size ratio envctl / pyodps-pack: {size / peer[1]:.2f}")
        print(f"  size ratio envctl / uv + tar: {size / uv_size:.2f}", flush=True)


if __name__ == "__main__":
    main()
