"""Native sdist builds (zig + auditwheel): seconds per package, cold and warm zig cache.

For each package, compiles its sdist with ``envctl.build.native.build_native_wheel`` for
manylinux2014_x86_64: first for the first Python with an empty zig cache (zig builds glibc
2.17 stubs, compiler_rt and, for C++, libc++ for the target: what a fresh CI runner pays; the
zig cache does not depend on the Python version), then warm for every Python (what every later
build pays). The warm build of the first Python must give the cold build's bytes. ``tinyext``
and ``tinyextcpp`` (the offline test sdists: a C library plus a C or C++ extension) need no
network; the PyPI sdists
are downloaded first (not timed), and their build requirements come from PyPI during the build
(timed: pip's build isolation).

Prints the machine line, one line per build, and a final JSON line.

    python benchmarks/native_build.py [--pythons 3.11,3.7]
        [--packages tinyext,tinyextcpp,markupsafe==2.1.5,msgpack==1.0.5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import print_machine

from envctl.build import native
from envctl.lock.isolation import isolated_env
from envctl.testing.native_sdist import make_tiny_sdist

PLATFORM = "manylinux2014_x86_64"
PYPI = "https://pypi.org/simple"


def sdist_for(package: str, dest: Path) -> Path:
    """The sdist of ``package``: the test sdist, or a download from PyPI (not timed)."""
    if package in ("tinyext", "tinyextcpp"):
        return make_tiny_sdist(dest, cxx=package == "tinyextcpp")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--no-build-isolation", "--index-url", PYPI, "--dest", str(dest), package],
        check=True, env=isolated_env(),
    )  # fmt: skip
    return next(dest.glob("*.tar.gz"))


def timed_build(sdist: Path, python: str, zig_cache: Path, out: Path) -> tuple[float, str]:
    interpreter = native.target_interpreter(python)
    start = time.perf_counter()
    built = native.build_native_wheel(
        sdist, interpreter, PLATFORM, out, index_urls=[PYPI], zig_cache=zig_cache
    )
    return time.perf_counter() - start, built.sha256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", default="tinyext,tinyextcpp,markupsafe==2.1.5,msgpack==1.0.5")
    parser.add_argument("--pythons", default="3.11,3.7")
    args = parser.parse_args()
    print_machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="envctl-bench-native-") as tmp:
        for package in args.packages.split(","):
            sdist = sdist_for(package, Path(tmp) / "sdists" / package)
            zig_cache = Path(tmp) / "zig" / package  # cold for every package
            pythons = args.pythons.split(",")
            cold, cold_sha = timed_build(sdist, pythons[0], zig_cache, Path(tmp) / "cold")
            for python in pythons:
                warm, warm_sha = timed_build(sdist, python, zig_cache, Path(tmp) / "warm" / python)
                row = {"package": package, "python": python, "warm_s": round(warm, 1)}
                line = f"{package} cp{python.replace('.', '')}: warm {warm:.1f}s"
                if python == pythons[0]:
                    row.update(cold_s=round(cold, 1), identical=cold_sha == warm_sha)
                    same = "byte-identical" if cold_sha == warm_sha else "DIFFERENT BYTES"
                    line += f", cold {cold:.1f}s ({same})"
                print(line, flush=True)
                results.append(row)
    print(json.dumps({"platform": PLATFORM, "results": results}))


if __name__ == "__main__":
    main()
