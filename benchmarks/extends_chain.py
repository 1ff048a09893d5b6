"""`extends` resolution: validating one N-deep chain against N independent specs.

Writes N spec files where each extends the previous one (and overrides one requirement), and
N specs that extend nothing, then times ``load_environments`` (what ``envctl validate`` runs)
on each. Resolution is linear when the chain costs about what the independent specs cost at
every N, and when doubling N about doubles the time. Prints one line per measurement, the
ratios, and a final ``machine:`` JSON line.

    python benchmarks/extends_chain.py [--depths 250,500,1000,2000,3000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _machine import print_machine

from envctl.spec.loader import load_environments


def write_chain(root: Path, depth: int) -> Path:
    envdir = root / f"chain-{depth}"
    envdir.mkdir()
    (envdir / "e0.yaml").write_text(
        'name: e0\npython: "3.11"\nrequirements: ["six==1.0", "pandas"]\n'
    )
    for i in range(1, depth):
        (envdir / f"e{i}.yaml").write_text(
            f'name: e{i}\nextends: e{i - 1}\nrequirements: ["six==1.{i}"]\n'
        )
    return envdir


def write_flat(root: Path, count: int) -> Path:
    envdir = root / f"flat-{count}"
    envdir.mkdir()
    for i in range(count):
        text = f'name: e{i}\npython: "3.11"\nrequirements: ["six==1.{i}", "pandas"]\n'
        (envdir / f"e{i}.yaml").write_text(text)
    return envdir


def timed_load(envdir: Path, expected: int) -> float:
    start = time.perf_counter()
    result = load_environments([envdir])
    elapsed = time.perf_counter() - start
    assert not result.problems and len(result.environments) == expected, result.problems[:3]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="250,500,1000,2000,3000")
    args = parser.parse_args()
    print_machine()
    depths = [int(d) for d in args.depths.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for depth in depths:
            chain = timed_load(write_chain(Path(tmp), depth), depth)
            flat = timed_load(write_flat(Path(tmp), depth), depth)
            results.append({"n": depth, "chain_s": round(chain, 4), "flat_s": round(flat, 4)})
            print(
                f"n={depth}: {depth}-deep chain {chain:.3f} s, "
                f"{depth} independent specs {flat:.3f} s, chain/independent {chain / flat:.2f}x"
            )
    for before, after in zip(results, results[1:]):
        growth = after["chain_s"] / before["chain_s"]
        print(
            f"n {before['n']} -> {after['n']} ({after['n'] / before['n']:.1f}x): "
            f"chain time {growth:.2f}x"
        )
    print("machine: " + json.dumps({"benchmark": "extends_chain", "results": results}))


if __name__ == "__main__":
    main()
