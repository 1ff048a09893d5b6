"""Re-locking keeps every pin that still fits; ``--upgrade-package`` / ``--upgrade`` move them.

A private index is "published to" during each test: newer releases appear after the first
lock, as they do on PyPI, and only what the command asks for may move.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from envctl.cli import main
from envctl.lock.isolation import find_uv
from envctl.lock.lockfile import read_lock
from envctl.lock.relock import conflicting_names, locked_versions
from envctl.testing.index import LocalIndex, write_simple_index
from envctl.testing.wheels import Dist, write_dist

RESOLVERS = [
    "pip",
    pytest.param("uv", marks=pytest.mark.skipif(find_uv() is None, reason="uv not installed")),
]


def _dist(name: str, version: str, *requires: str) -> Dist:
    return Dist(name, version, {f"{name}.py": f"VERSION = {version!r}\n"}, requires=requires)


class Repo:
    """A repository with one spec whose index can publish new releases mid-test."""

    def __init__(self, root: Path, index: LocalIndex) -> None:
        self.root, self.index = root, index
        (root / "environments").mkdir(parents=True)

    def publish(self, *dists: Dist) -> None:
        for dist in dists:
            write_dist(dist, self.index.root / "files")
        write_simple_index(self.index.root)

    def spec(self, *requirements: str) -> None:
        text = f"name: demo\npython: '3.11'\nindex_url: {self.index.url}\n"
        text += "prefer_binary: true\nrequirements:\n"
        text += "".join(f"  - {r}\n" for r in requirements)
        (self.root / "environments" / "demo.yaml").write_text(text, encoding="utf-8")

    def lock(self, *args: str) -> dict[str, str]:
        assert main(["--root", str(self.root), "lock", "demo", *args]) == 0
        return locked_versions(read_lock(self.root / "environments" / "pylock.demo.toml"))


@pytest.fixture
def repo(tmp_path: Path, envctl_cache: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    monkeypatch.setenv("UV_NO_CACHE", "1")  # uv would serve the index pages seen before a "release"
    dists = [
        _dist("alpha", "1.0"),
        _dist("beta", "1.0"),
        _dist("gamma", "1.0"),
        _dist("base", "1.0"),
    ]
    with LocalIndex.create(tmp_path / "index", dists) as index:
        yield Repo(tmp_path / "repo", index)


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_adding_a_package_upgrades_nothing_else(
    repo: Repo, resolver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.spec("alpha", "beta")
    assert repo.lock("--resolver", resolver) == {"alpha": "1.0", "beta": "1.0"}
    repo.publish(_dist("alpha", "2.0"), _dist("beta", "2.0"), _dist("gamma", "2.0"))
    repo.spec("alpha", "beta", "gamma")
    capsys.readouterr()
    assert repo.lock("--resolver", resolver) == {"alpha": "1.0", "beta": "1.0", "gamma": "2.0"}
    assert capsys.readouterr().out.splitlines()[1:] == ["  + gamma 2.0"]


def test_upgrade_package_moves_only_that_package(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.spec("alpha", "beta")
    repo.lock()
    repo.publish(_dist("alpha", "2.0"), _dist("beta", "2.0"))
    capsys.readouterr()
    assert repo.lock("--upgrade-package", "Alpha", "--format", "json") == {
        "alpha": "2.0",
        "beta": "1.0",
    }
    row = json.loads(capsys.readouterr().out)["environments"][0]
    assert row["changes"] == [{"name": "alpha", "before": "1.0", "after": "2.0"}]
    assert repo.lock("-U") == {"alpha": "2.0", "beta": "2.0"}


def test_upgrade_package_also_moves_what_it_forces(repo: Repo) -> None:
    repo.spec("alpha", "beta")
    repo.lock()
    repo.publish(_dist("alpha", "2.0", "beta>=2"), _dist("beta", "2.0"), _dist("beta", "3.0"))
    assert repo.lock("--upgrade-package", "alpha") == {"alpha": "2.0", "beta": "3.0"}


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_a_pin_in_conflict_moves_and_the_others_stay(repo: Repo, resolver: str) -> None:
    repo.spec("alpha", "beta")
    repo.lock("--resolver", resolver)
    repo.publish(_dist("alpha", "2.0"), _dist("beta", "2.0"), _dist("gamma", "2.0", "alpha>=2"))
    repo.spec("alpha", "beta", "gamma")
    assert repo.lock("--resolver", resolver) == {"alpha": "2.0", "beta": "1.0", "gamma": "2.0"}


def test_a_pin_the_spec_no_longer_allows_moves(repo: Repo) -> None:
    repo.spec("alpha", "beta")
    repo.lock()
    repo.publish(_dist("alpha", "2.0"), _dist("beta", "2.0"))
    repo.spec("alpha>=2", "beta")
    assert repo.lock() == {"alpha": "2.0", "beta": "1.0"}


def test_a_dropped_dependency_leaves_the_lock(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.spec("alpha", "beta")
    repo.lock()
    repo.spec("alpha")
    capsys.readouterr()
    assert repo.lock() == {"alpha": "1.0"}
    assert "  - beta 1.0" in capsys.readouterr().out


def test_check_refuses_upgrade_flags(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.spec("alpha")
    assert main(["--root", str(repo.root), "lock", "--check", "--upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("envctl: error: --check cannot be combined") and err.count("\n") == 1


def test_conflicting_names_reads_pips_wording() -> None:
    message = (
        "pip failed to resolve the requirements: ERROR: Cannot install alpha, Beta_x and "
        "gamma==2.0 because these package versions have conflicting dependencies. "
        "The user requested (constraint) delta==1.0"
    )
    assert conflicting_names(message) == {"alpha", "beta-x", "gamma", "delta"}
    assert conflicting_names(
        "ERROR: Could not find a version that satisfies the requirement zeta==1.0"
    ) == {"zeta"}
    assert conflicting_names("uv: no solution") == set()


def test_a_new_package_gets_its_newest_version_moving_a_pin_it_needs(repo: Repo) -> None:
    """As ``uv lock``: the new package is not held back to an old release to keep a pin."""
    repo.spec("alpha", "beta")
    repo.lock()
    repo.publish(
        _dist("gamma", "1.0"),
        _dist("alpha", "2.0"),
        _dist("beta", "2.0"),
        _dist("gamma", "2.0", "alpha>=2"),
    )
    repo.spec("alpha", "beta", "gamma")
    assert repo.lock() == {"alpha": "2.0", "beta": "1.0", "gamma": "2.0"}


def test_an_unchanged_relock_resolves_once_even_with_a_marker_excluded_requirement(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requirement whose marker excludes the target is never locked; it is not "new"."""
    import envctl.lock.relock as relock_module

    repo.spec("alpha", "zeta ; python_version < '3.0'")
    repo.lock()
    calls: list[object] = []
    real = relock_module.resolve_environment

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("constraints"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(relock_module, "resolve_environment", counted)
    assert repo.lock() == {"alpha": "1.0"}
    assert calls == [["alpha==1.0"]]  # one constrained resolution, no unpinned one
