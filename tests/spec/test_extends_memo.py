"""``extends`` chains are resolved once per link, not once per link per descendant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envctl.spec import loader


def test_a_deep_chain_merges_each_link_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    depth = 300  # deeper than a recursive walk would comfortably go per name, quick when linear
    (tmp_path / "e0.yaml").write_text(
        'name: e0\npython: "3.11"\nrequirements: ["six==1.0", "pandas"]\n'
    )
    for i in range(1, depth):
        (tmp_path / f"e{i}.yaml").write_text(
            f'name: e{i}\nextends: e{i - 1}\nrequirements: ["six==1.{i}"]\n'
        )
    calls = []
    original = loader.merge

    def counting(parent: Any, child: Any) -> dict[str, Any]:
        calls.append(child.get("name"))
        return original(parent, child)

    monkeypatch.setattr(loader, "merge", counting)
    result = loader.load_environments([tmp_path])
    assert not result.problems
    assert len(calls) == depth and len(set(calls)) == depth
    last = result.environments[f"e{depth - 1}"]
    assert last.requirements == ("pandas", f"six==1.{depth - 1}")
    assert last.extends == tuple(f"e{i}" for i in range(depth - 2, -1, -1))


def test_a_cycle_below_a_chain_is_reported_once_per_environment_reaching_it(tmp_path: Path) -> None:
    for name, parent in (("a", "b"), ("b", "a"), ("x", "a"), ("y", "x")):
        (tmp_path / f"{name}.yaml").write_text(f'name: {name}\npython: "3.11"\nextends: {parent}\n')
    messages = sorted(p.message for p in loader.load_environments([tmp_path]).problems)
    assert messages == [
        "cyclic extends: a -> b -> a",
        "cyclic extends: a -> b -> a",
        "cyclic extends: a -> b -> a",
        "cyclic extends: b -> a -> b",
    ]
