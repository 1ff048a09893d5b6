"""Scale-out: 100 environments changed by one base bump, applied by 1 process vs a fan-out.

Scenario, against the MaxCompute emulator with LATENCY seconds injected into every request:
100 small environments all depend on ``basepkg``; all are deployed with basepkg 1.0, then
the base bumps to 1.1, so every lock changes. Measured in one run, each from the same
deployed state and with a cold envctl cache (a fresh CI runner):

* one process: ``envctl apply --auto-approve`` builds, uploads and switches all 100;
* fan-out: WORKERS processes run ``envctl build NAME --upload`` over a quarter of the
  environments each (in parallel, like a CI matrix), then one ``envctl apply --auto-approve``
  adopts the uploaded archives and only switches pointers.

Prints the machine line, both times, the ratio and a projection for N runners
(final apply + the build-and-upload work divided by N, assuming one core per runner).

    python benchmarks/fanout.py [--envs 100] [--workers 4] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import print_machine, ratio

from envctl.emulator import Emulator
from envctl.files import file_hexdigest
from envctl.lock.lockfile import Lock, LockedFile, inputs_hash, read_lock, write_lock
from envctl.lock.target_python import full_version
from envctl.spec.project import Project
from envctl.testing.emulator_fixtures import TEST_ACCESS_ID, TEST_SECRET, emulator_target_url
from envctl.testing.wheels import Dist, wheel_bytes, wheel_filename

TAG = "py3-none-any"
WORKER = """
import sys
from envctl.cli import main
for name in sys.argv[1:]:
    if main(["--quiet", "build", name, "--upload"]) != 0:
        sys.exit(1)
"""


def wheel(directory: Path, name: str, version: str, payload: bytes) -> LockedFile:
    """A tiny real wheel on disk, described as a lock entry with a file:// URL."""
    module = name.replace("-", "_")
    dist = Dist(
        name,
        version,
        {f"{module}/__init__.py": f'__version__ = "{version}"\n', f"{module}/data.bin": payload},
    )
    path = directory / wheel_filename(dist, TAG)
    path.write_bytes(wheel_bytes(dist, TAG))
    sha = file_hexdigest(path, "sha256")
    return LockedFile(name, version, path.name, path.as_uri(), sha, path.stat().st_size, "wheel")


def write_project(root: Path, envs: int, base: LockedFile, wheels: Path) -> list[str]:
    """Specs and current locks for ``envs`` environments, each ``app-NNN`` + ``basepkg``."""
    (root / "environments").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(envs):
        name = f"env{i:03d}"
        spec = f'name: {name}\npython: "3.11"\nrequirements: [app-{i:03d}, basepkg]\n'
        (root / "environments" / f"{name}.yaml").write_text(spec)
        names.append(name)
    project = Project(root)
    for name, env in project.environments().items():
        app = wheel(wheels, f"app-{name[3:]}", "1.0", os.urandom(64 << 10))
        lock = Lock(name, full_version(env.python), env.platform, inputs_hash(env), (app, base))
        write_lock(project.lock_path(name), lock)
    return names


def run_envctl(args: list[str], env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "envctl", "--quiet", *args]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def deploy_scenario(
    work: Path, emulator: Emulator, envs: int, workers: int, fan_out: bool
) -> tuple[float, float, float]:
    """Deploy v1 (untimed), bump the base, then time one apply or the fan-out + apply:
    ``(total, uploading, final apply)`` seconds (one apply: all three in the last two)."""
    root, wheels = work / "repo", work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    base_v1 = wheel(wheels, "basepkg", "1.0", os.urandom(256 << 10))
    names = write_project(root, envs, base_v1, wheels)
    env = {
        **os.environ,
        "ENVCTL_ROOT": str(root),
        "ENVCTL_TARGET": emulator_target_url(emulator),
        "ENVCTL_CACHE_DIR": str(work / "cache-setup"),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_ACCESS_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_SECRET,
    }
    run_envctl(["apply", "--auto-approve"], env)

    base_v2 = wheel(wheels, "basepkg", "1.1", os.urandom(256 << 10))  # the bump: every lock changes
    project = Project(root)
    for name, spec in project.environments().items():
        lock = read_lock(project.lock_path(name))
        packages = tuple(p if p.name != "basepkg" else base_v2 for p in lock.packages)
        write_lock(
            project.lock_path(name),
            Lock(name, lock.python, lock.platform, inputs_hash(spec), packages),
        )

    start = time.perf_counter()
    if fan_out:
        procs = []
        for w in range(workers):
            cache = {**env, "ENVCTL_CACHE_DIR": str(work / f"cache-runner{w}")}
            share = names[w::workers]
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, *share], env=cache, stdout=subprocess.DEVNULL
                )
            )
        for proc in procs:
            if proc.wait() != 0:
                raise SystemExit("a fan-out worker failed")
        staged = time.perf_counter()
        run_envctl(
            ["apply", "--auto-approve"], {**env, "ENVCTL_CACHE_DIR": str(work / "cache-final")}
        )
        final = time.perf_counter()
        return final - start, staged - start, final - staged
    run_envctl(["apply", "--auto-approve"], {**env, "ENVCTL_CACHE_DIR": str(work / "cache-apply")})
    total = time.perf_counter() - start
    return total, 0.0, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds added to every request"
    )
    args = parser.parse_args()
    print_machine()
    results = {}
    for fan_out in (False, True):
        with (
            tempfile.TemporaryDirectory(prefix="envctl-fanout-") as tmp,
            Emulator(Path(tmp) / "emu") as emulator,
        ):
            emulator.faults.delay(args.latency)
            results[fan_out] = deploy_scenario(
                Path(tmp), emulator, args.envs, args.workers, fan_out
            )
    single, fanned = results[False][0], results[True][0]
    _, stage_s, final_s = results[True]
    print(
        f"{args.envs} environments changed by one base bump, "
        f"emulator with {args.latency * 1000:.0f} ms per request"
    )
    print(f"  1 process: envctl apply                          : {single:7.1f} s")
    print(f"  {args.workers} x 'build --upload' in parallel + one apply : {fanned:7.1f} s "
          f"(uploads {stage_s:.1f} s, pointer-switching apply {final_s:.1f} s)")  # fmt: skip
    print(f"  ratio 1 process / fan-out: {single / fanned:.2f}  ({ratio(fanned, single)})")
    work = max(single - final_s, 0.0)  # build + upload work the fan-out takes off the final apply
    projection = ", ".join(f"{n} runners ~{final_s + work / n:.0f} s" for n in (1, 4, 16, 64))
    print(f"  projection (final apply + build-and-upload work / N): {projection}")


if __name__ == "__main__":
    main()
