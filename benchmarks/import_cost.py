"""What importing a UDF module costs, and what decorating costs once warm.

Scenario: a module with 10 functions, each decorated with ``with_python_requirements`` on a
different requirement, imported in a fresh process with an empty cache (nothing deployed,
nothing built, nothing looked up before), in both runtime modes:

  * service - ``ENVCTL_ADHOC=service`` (default): MaxFrame packs server-side at submission
  * client  - ``ENVCTL_ADHOC=client``: envctl builds on this machine, in the background, and
              uploads to a MaxCompute target (the bundled emulator, real pyodps over HTTP)
              from a local package index; the import returns before any build ends

``import maxframe`` and ``import envctl.udf`` are timed apart: a MaxFrame program pays them
once whatever it decorates. Also measured: decorating warm (the same decorator applied again
in the same process), per function.

Targets: import < 1 s in both modes; warm decoration <= 20 us per function.
Run: python benchmarks/import_cost.py [--functions 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _machine import machine_line, per_call

CHILD = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import maxframe.udf, envctl.udf
    t1 = time.perf_counter()
    sys.path.insert(0, sys.argv[1])
    import udfs
    t2 = time.perf_counter()
    from envctl.udf import pending, ready
    queued = len(pending())
    ready()
    t3 = time.perf_counter()
    print(json.dumps({"libraries": t1 - t0, "import": t2 - t1, "queued": queued, "ready": t3 - t2}))
    """
)


def udf_module(directory: Path, count: int) -> None:
    lines = ["from envctl.udf import with_python_requirements", ""]
    for i in range(count):
        lines += [
            f'@with_python_requirements("tiny{i}")',
            f"def udf{i}(row):",
            f"    return row + '{i}'",
            "",
        ]
    (directory / "udfs.py").write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--functions", type=int, default=10)
    args = parser.parse_args()

    from envctl.emulator import Emulator
    from envctl.testing.emulator_fixtures import emulator_target_url
    from envctl.testing.index import LocalIndex
    from envctl.testing.wheels import Dist

    work = Path(tempfile.mkdtemp(prefix="envctl-bench-"))
    (work / "repo" / "environments").mkdir(parents=True)
    udf_module(work, args.functions)
    dists = [Dist(f"tiny{i}", "1.0", {f"tiny{i}/__init__.py": ""}) for i in range(args.functions)]
    results = {}
    with LocalIndex.create(work / "index", dists) as index, Emulator(work / "emulator") as emulator:
        base = {
            **os.environ,
            "ENVCTL_INDEX_URL": index.url,
            "ENVCTL_TARGET": emulator_target_url(emulator),
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "bench-ak",  # the emulator checks presence only
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "bench-sk",
        }
        for mode in ("service", "client"):
            env = {**base, "ENVCTL_ADHOC": mode, "ENVCTL_CACHE_DIR": str(work / f"cache-{mode}")}
            out = subprocess.run([sys.executable, "-c", CHILD, str(work)], env=env,
                                 cwd=work / "repo", capture_output=True, text=True,
                                 timeout=1800, check=False)  # fmt: skip
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])

    os.chdir(work / "repo")
    os.environ.pop("ENVCTL_ADHOC", None)
    from envctl.udf import with_python_requirements

    def udf(row: str) -> str:
        return row

    decorate = with_python_requirements("jieba==0.40 cloudpickle pandas")
    decorate(udf)
    warm = per_call(lambda: decorate(udf), 5000)

    print(machine_line())
    print(f"importing a module with {args.functions} decorated UDFs, fresh process, empty cache:")
    for mode, r in results.items():
        print(
            f"  {mode:8s} import {r['import'] * 1e3:8.1f} ms   (builds queued: {r['queued']}, "
            f"all published {r['ready']:.1f} s later; "
            f"import maxframe + envctl.udf: {r['libraries']:.2f} s)"
        )
    print(f"  warm decoration (service mode)  {warm * 1e6:6.1f} us/function")
    ok = all(r["import"] < 1.0 for r in results.values()) and warm <= 20e-6
    print(
        f"targets: import < 1 s in both modes, warm <= 20 us/function: {'OK' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
