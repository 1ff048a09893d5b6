"""`envctl plan` with 500 unchanged environments: wall time and remote requests.

Measures, in one run:
* wall time of ``envctl plan --detailed-exitcode`` on the local store (target: < 2 s), in
  process and as a fresh subprocess;
* requests against the MaxCompute emulator for planning (one paginated listing + one index
  read) versus a naive peer that looks each environment up on its own (one meta request per
  environment), printed as a ratio.

Run: python benchmarks/plan_500.py [--envs 500]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import print_machine

from envctl.cli import main as envctl_main
from envctl.deploy.desired import desired_state, load_locks
from envctl.deploy.observe import observe, write_state
from envctl.deploy.plan import plan
from envctl.deploy.state import State, VersionInfo, archive_name
from envctl.emulator.server import Emulator
from envctl.lock.lockfile import Lock, inputs_hash, write_lock
from envctl.lock.target_python import full_version
from envctl.spec.project import Project
from envctl.targets import Target, open_target
from envctl.testing.emulator_fixtures import TEST_ACCESS_ID, TEST_SECRET, emulator_target_url


def make_project(root: Path, count: int) -> Project:
    (root / "environments").mkdir(parents=True)
    project = Project(root)
    for i in range(count):
        name = f"env{i:04d}"
        (root / "environments" / f"{name}.yaml").write_text(
            f'name: {name}\npython: "3.11"\nrequirements: []\n'
        )
    for env in project.environments().values():
        write_lock(
            project.lock_path(env.name),
            Lock(env.name, full_version(env.python), env.platform, inputs_hash(env), ()),
        )
    return project


def deploy(project: Project, target: Target) -> None:
    """Put every environment in the target as if applied (tiny archives, one index)."""
    locks = load_locks(project, project.environments().values())
    state = State()
    for name, lock in locks.items():
        sha = f"{abs(hash(name)):064x}"[:64]
        resource = archive_name(name, sha)
        target.put_bytes(resource, b"x")
        info = target.stat(resource)
        state = state.with_version(
            VersionInfo(
                name,
                1,
                resource,
                sha,
                info.md5 or "",
                1,
                lock.lock_hash(),
                lock.python,
                lock.platform,
                uploaded_modified=info.modified,
            )
        )
    write_state(target, state)


def naive_lookups(target: Target, resources: list[str]) -> None:
    """The peer: one metadata lookup per environment (what an index-less controller must do)."""
    for resource in resources:
        target.stat(resource)


def quiet_plan() -> int:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return envctl_main(["--quiet", "plan", "--detailed-exitcode"])


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=500)
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        project = make_project(root, args.envs)
        local = open_target(None, project)
        deploy(project, local)
        names = sorted(
            v.resource for e in observe(local).state.environments.values() for v in e.versions
        )
        os.environ["ENVCTL_ROOT"] = str(root)

        code = quiet_plan()  # warms imports
        assert code == 0, f"plan should find no changes, exit {code}"
        in_process = min(timed(quiet_plan) for _ in range(3))
        cmd = [sys.executable, "-m", "envctl", "--quiet", "plan", "--detailed-exitcode"]
        subproc = min(
            timed(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))
            for _ in range(2)
        )
        local.stats.clear()
        observe(local)
        ours_local = sum(local.stats.values())
        naive_local_s = timed(lambda: naive_lookups(local, names))
        ours_local_s = timed(lambda: observe(local))

        os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = TEST_ACCESS_ID
        os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = TEST_SECRET
        with Emulator(Path(tmp) / "emulator") as emulator:
            remote = open_target(emulator_target_url(emulator), project)
            deploy(project, remote)
            desired = desired_state(
                project.environments(), load_locks(project, project.environments().values())
            )
            emulator.stats.reset()
            ours_s = timed(lambda: plan(desired, observe(remote)))
            ours_requests = emulator.stats.count()
            emulator.stats.reset()
            naive_s = timed(lambda: naive_lookups(remote, names))
            naive_requests = emulator.stats.count()
            page = emulator.list_page_size

    print(f"environments: {args.envs}")
    print(
        f"local store: envctl plan in-process {in_process:.3f} s, "
        f"as a new process {subproc:.3f} s (target < 2 s)"
    )
    print(
        f"local store: plan's target reads {ours_local} calls in {ours_local_s * 1000:.1f} ms; "
        f"naive per-env lookups {len(names)} calls in {naive_local_s * 1000:.1f} ms "
        f"(ratio {naive_local_s / ours_local_s:.1f}x)"
    )
    print(
        f"emulator: plan {ours_requests} requests in {ours_s:.2f} s "
        f"(listing pages of {page} + 1 index read); "
        f"naive per-env lookups {naive_requests} requests in {naive_s:.2f} s"
    )
    print(
        f"emulator request ratio naive/plan: {naive_requests / ours_requests:.0f}x, "
        f"time ratio {naive_s / ours_s:.1f}x"
    )


if __name__ == "__main__":
    main()
