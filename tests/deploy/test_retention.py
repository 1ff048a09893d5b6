"""gc policy is pure: what may go, and what must never go."""

from __future__ import annotations

from envctl.deploy.retention import expired_temporaries, select, stale_leftovers
from envctl.deploy.state import State, VersionInfo, archive_name
from envctl.targets.base import ObjectInfo
from tests.deploy.helpers import make_version


def version(number: int, sha: str, created: float) -> VersionInfo:
    return make_version(number, sha=sha, created=created)


def test_archive_shared_with_a_kept_version_is_not_deleted() -> None:
    state = State()
    for n in (1, 2):
        state = state.with_version(version(n, "a" * 64, created=0.0))  # identical bytes, two locks
    plan = select(state, {}, now=10_000.0, keep=1, grace=60)
    assert [v.version for v in plan.versions["nlp"]] == [1]
    assert plan.objects == ()


def test_nothing_younger_than_grace_and_never_the_current_version() -> None:
    state = State()
    for n in (1, 2, 3):
        state = state.with_version(version(n, str(n) * 64, created=float(n * 100)))
    state = state.with_current("nlp", 1)
    assert [v.version for v in select(state, {}, now=350.0, keep=0, grace=100).versions["nlp"]] == [
        2
    ]
    assert [
        v.version for v in select(state, {}, now=10_000.0, keep=0, grace=100).versions["nlp"]
    ] == [3, 2]


def test_unknown_objects_are_never_orphans_only_envctl_archives() -> None:
    objects = {
        n: ObjectInfo(n, 1, 0.0)
        for n in ("envctl-state.json", "someone-else.tar.gz", archive_name("x", "f" * 64))
    }
    assert select(State(), objects, now=10_000.0, keep=1, grace=60).objects == (
        archive_name("x", "f" * 64),
    )


def test_temporary_resources_go_by_the_rules_passed_in() -> None:
    listing = [
        ObjectInfo("envctl_tmp-a", 1, 0.0, temp=True),
        ObjectInfo("envctl_tmp-b", 1, 0.0, temp=True),
    ]
    rule = lambda items, now: [i.name for i in items if i.name.endswith("a")]  # noqa: E731
    assert expired_temporaries(listing, 1.0, [rule]) == ["envctl_tmp-a"]
    assert expired_temporaries(listing, 1.0, []) == []


def test_upload_debris_goes_only_once_older_than_grace() -> None:
    debris = [
        ObjectInfo(".envctl-a.tar.gz.k3j4h5g6.part", 1, 100.0),
        ObjectInfo("envctl-b.part.tmp.000001.000000", 1, 500.0),
    ]
    assert stale_leftovers(debris, now=1000.0, grace=600) == [".envctl-a.tar.gz.k3j4h5g6.part"]
    assert stale_leftovers(debris, now=1000.0, grace=0) == sorted(i.name for i in debris)
    assert stale_leftovers(debris, now=1000.0, grace=7 * 86400) == []


def test_the_version_git_declares_is_protected() -> None:
    state = State()
    for n in (1, 2):
        state = state.with_version(version(n, str(n) * 64, created=0.0))
    state = state.with_current("nlp", 1)  # rolled back; git still declares v2's lock
    assert select(state, {}, now=10_000.0, keep=0, grace=0, keep_locks=frozenset({"lock2"})).empty
