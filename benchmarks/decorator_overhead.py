"""Cost of decorating UDFs with envctl, against peers measured in the same run.

Scenario: a module decorating many functions with ``with_environment("nlp")`` while the
environment is deployed to a MaxCompute target (the bundled emulator, real pyodps over HTTP).

Measured per decorated function:
  * envctl warm     - the in-process memo answers (the common case: every function after the first)
  * envctl disk     - a fresh process within ENVCTL_RESOLVE_TTL: the on-disk cache answers
  * envctl uncached - a real lookup of the state object in the target, every time
  * maxframe        - ``maxframe.udf.with_resources(name)``, the marking alone (the floor)

Run: python benchmarks/decorator_overhead.py [--functions 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from _machine import per_call, print_machine


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--functions", type=int, default=5000, help="decorations per warm measurement"
    )
    parser.add_argument("--lookups", type=int, default=30, help="uncached lookups to time")
    args = parser.parse_args()
    print_machine()

    work = Path(tempfile.mkdtemp(prefix="envctl-bench-"))
    (work / "repo" / "environments").mkdir(parents=True)
    (work / "repo" / "environments" / "nlp.yaml").write_text(
        'name: nlp\npython: "3.11"\nrequirements: [jieba==0.40]\n'
    )
    os.chdir(work / "repo")
    os.environ["ENVCTL_CACHE_DIR"] = str(work / "cache")
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "bench-ak"  # the emulator checks presence only
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "bench-sk"

    from envctl.deploy.observe import read_state, write_state
    from envctl.deploy.state import VersionInfo, archive_name
    from envctl.emulator import Emulator
    from envctl.files import file_hexdigest
    from envctl.spec.project import find_project
    from envctl.targets import open_target
    from envctl.testing.emulator_fixtures import emulator_target_url
    from envctl.udf import with_environment
    from envctl.udf.marking import maxframe_udf, resources_of
    from envctl.udf.resolution import clear_memo, deployed_version

    with Emulator(work / "emulator") as emulator:
        os.environ["ENVCTL_TARGET"] = emulator_target_url(emulator)
        project = find_project()
        target = open_target(None, project)
        payload = b"benchmark archive"
        sha = hashlib.sha256(payload).hexdigest()
        archive = work / "a.tar.gz"
        archive.write_bytes(payload)
        name = archive_name("nlp", sha)
        target.put_file(name, archive, md5=file_hexdigest(archive, "md5"))
        info = VersionInfo(
            "nlp",
            1,
            name,
            sha,
            file_hexdigest(archive, "md5"),
            len(payload),
            "0" * 64,
            "3.11",
            "manylinux2014_x86_64",
        )
        write_state(target, read_state(target).with_version(info))

        def udf(row: str) -> str:
            return row

        decorate = with_environment("nlp")
        assert resources_of(decorate(udf)), "resolution failed"

        warm = per_call(lambda: decorate(udf), args.functions)

        def disk_hit() -> None:
            clear_memo()
            decorate(udf)

        disk = per_call(disk_hit, max(args.functions // 10, 50))
        uncached = per_call(lambda: deployed_version(target, "nlp"), args.lookups)
        udf_module = maxframe_udf()
        floor = (
            per_call(lambda: udf_module.with_resources(name)(udf), args.functions)
            if udf_module
            else None
        )

    print(
        f"decorating with with_environment('nlp') against "
        f"{emulator.endpoint.split('/api')[0]} (emulator)"
    )
    print(f"  envctl warm (in-process memo)    {warm * 1e6:10.1f} us/function")
    print(f"  envctl fresh process (disk hit)  {disk * 1e6:10.1f} us/function")
    print(f"  envctl uncached target lookup    {uncached * 1e6:10.1f} us/function")
    if floor is not None:
        print(f"  maxframe with_resources (floor)  {floor * 1e6:10.1f} us/function")
    print("ratios:")
    print(f"  uncached / warm        {uncached / warm:10.1f}x  (what the cache saves per function)")
    print(f"  uncached / disk        {uncached / disk:10.1f}x")
    if floor is not None:
        print(
            f"  warm / maxframe floor  {warm / floor:10.2f}x  (envctl's overhead on top of marking)"
        )
    verdict = "OK" if warm < 1e-3 else "SLOW"
    print(f"target: warm < 1 ms per function: {verdict}")
    return 0 if warm < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
