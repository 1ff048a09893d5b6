"""``retention.collect``: the gc procedure against a real target, in its safe order."""

from __future__ import annotations

import time
from pathlib import Path

from envctl.deploy.lease import held
from envctl.deploy.observe import observe, read_state, write_state
from envctl.deploy.retention import collect
from envctl.deploy.state import State, VersionInfo, archive_name
from envctl.targets.local import LocalTarget
from tests.deploy.helpers import make_version


def _version(number: int, created: float = 0.0) -> VersionInfo:
    return make_version(number, md5="0" * 32, size=3, created=created)


def _deployed(root: Path, count: int = 3) -> LocalTarget:
    target = LocalTarget(root)
    state = State()
    for n in range(1, count + 1):
        v = _version(n)
        target.put_bytes(v.resource, b"abc")
        state = state.with_version(v)
    write_state(target, state)
    target.put_bytes(archive_name("gone", "f" * 64), b"orphan")
    return target


LATER = time.time() + 3600  # everything on disk is older than grace by then


class Recording(LocalTarget):
    """A local target that records writes and deletes in order."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.log: list[str] = []

    def put_bytes(self, name: str, data: bytes, *, temp: bool = False) -> None:
        self.log.append(f"write {name}")
        super().put_bytes(name, data, temp=temp)

    def delete(self, name: str) -> None:
        self.log.append(f"delete {name}")
        super().delete(name)


def test_dry_run_reports_without_a_lease_and_changes_nothing(tmp_path: Path) -> None:
    target = _deployed(tmp_path / "store")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / "store").iterdir())
    result = collect(target, None, keep=0, grace=0, now=LATER, dry_run=True)
    assert result.dry_run and [v.version for v in result.versions["nlp"]] == [2, 1]
    assert result.archives == (_version(1).resource, _version(2).resource)
    assert result.orphans == (archive_name("gone", "f" * 64),)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / "store").iterdir()) == before


def test_versions_are_forgotten_before_their_archives_are_deleted(tmp_path: Path) -> None:
    _deployed(tmp_path / "store")
    target = Recording(tmp_path / "store")
    with held(target, "gc") as lease:
        target.log.clear()
        result = collect(target, lease, keep=1, grace=0, now=LATER, dry_run=False)
    deletes = [
        entry for entry in target.log if entry.startswith("delete envctl-nlp-") or "gone" in entry
    ]
    assert target.log.index("write envctl-state.json") < target.log.index(deletes[0])
    assert [v.version for v in read_state(target).env("nlp").versions] == [3]
    assert set(observe(target).objects) == {"envctl-state.json", _version(3).resource}
    assert not result.dry_run and result.objects == (*result.archives, *result.orphans)


def test_protected_locks_and_temp_rules_are_passed_in(tmp_path: Path) -> None:
    target = _deployed(tmp_path / "store")
    target.put_bytes("envctl_tmp-x.tar.gz", b"t", temp=True)
    result = collect(
        target,
        None,
        keep=0,
        grace=0,
        now=LATER,
        dry_run=True,
        keep_locks=frozenset({"lock1"}),
        temp_rules=[lambda items, now: [i.name for i in items]],
    )
    assert [v.version for v in result.versions["nlp"]] == [2]
    assert result.temporaries == ("envctl_tmp-x.tar.gz",)
