"""Applier, lease and gc against real targets (local store and emulator), with real tarballs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from envctl.deploy.apply import Applier, check_fresh
from envctl.deploy.desired import Desired
from envctl.deploy.lease import (
    LeaseLost,
    acquire,
    break_lease,
    current_lease,
    dead_renewals,
    force_unlock,
    lease_ttl,
    release,
    renew,
    renewal_object,
)
from envctl.deploy.observe import current_resource, observe, write_state
from envctl.deploy.plan import DesiredEnv, plan
from envctl.deploy.retention import select
from envctl.deploy.state import archive_name
from envctl.errors import EnvctlError
from envctl.spec.loader import Environment
from envctl.targets import Target
from tests.deploy.helpers import make_lock

ENV = Environment(name="nlp", python="3.11")
LOCK1 = make_lock("nlp", ("jieba", "0.40"))
LOCK2 = make_lock("nlp", ("jieba", "0.42"))


def desired_for(lock) -> dict[str, DesiredEnv]:
    return {"nlp": DesiredEnv("nlp", lock.python, lock.platform, lock.lock_hash())}


def apply_lock(target: Target, builds, lock, *, prune: bool = False, desired=None):
    observed = observe(target)
    the_plan = plan(
        desired if desired is not None else desired_for(lock), observed, target=target.url
    )
    applier = Applier(
        target,
        Desired.of({"nlp": ENV}, {"nlp": lock}),
        builds,
        observed.state,
        dict(observed.objects),
    )
    return the_plan, applier.run(the_plan, prune=prune)


def test_apply_uploads_then_points_and_second_apply_does_nothing(target: Target, builds) -> None:
    _, result = apply_lock(target, builds, LOCK1)
    current = current_resource(target, "nlp")
    assert current is not None and current.version == 1 and current.lock_hash == LOCK1.lock_hash()
    assert current.resource == archive_name("nlp", current.sha256)
    assert target.stat(current.resource).size == current.size

    target.stats.clear()
    again, result = apply_lock(target, builds, LOCK1)
    assert not again.has_changes and not result.changed
    assert target.stats["upload"] == 0 and target.stats["write"] == 0
    assert target.stats["list"] + target.stats["read"] == 2  # plan is O(1) requests


def test_changed_lock_builds_new_version_and_earlier_lock_is_repointed_without_build(
    target: Target, builds
) -> None:
    apply_lock(target, builds, LOCK1)
    apply_lock(target, builds, LOCK2)
    assert current_resource(target, "nlp").version == 2
    target.stats.clear()
    back_plan, _ = apply_lock(target, builds, LOCK1)
    assert back_plan.changes[0].reuse_version == 1
    assert current_resource(target, "nlp").version == 1
    assert target.stats["upload"] == 0


def test_archive_deleted_out_of_band_is_detected_and_restored(target: Target, builds) -> None:
    apply_lock(target, builds, LOCK1)
    resource = current_resource(target, "nlp").resource
    target.delete(resource)
    the_plan, _ = apply_lock(target, builds, LOCK1)
    assert "archive missing" in the_plan.changes[0].reasons[0]
    assert target.stat(resource) is not None
    assert not plan(desired_for(LOCK1), observe(target)).has_changes


def test_saved_plan_is_refused_when_target_or_lock_changed(target: Target, builds) -> None:
    apply_lock(target, builds, LOCK1)
    saved = plan(desired_for(LOCK2), observe(target), target=target.url)
    check_fresh(saved, target, observe(target), desired_for(LOCK2))  # still fresh
    with pytest.raises(EnvctlError, match="lock of 'nlp' changed"):
        check_fresh(saved, target, observe(target), desired_for(make_lock("nlp", ("jieba", "9"))))
    apply_lock(target, builds, LOCK2)  # someone else applied meanwhile
    with pytest.raises(EnvctlError, match="stale plan: the target changed"):
        check_fresh(saved, target, observe(target), desired_for(LOCK2))


def test_delete_happens_only_with_prune(target: Target, builds) -> None:
    apply_lock(target, builds, LOCK1)
    resource = current_resource(target, "nlp").resource
    _, result = apply_lock(target, builds, LOCK1, desired={})
    assert result.outcomes[0].action == "skipped" and current_resource(target, "nlp") is not None
    apply_lock(target, builds, LOCK1, desired={}, prune=True)
    assert current_resource(target, "nlp") is None and target.stat(resource) is None


def test_second_lease_fails_naming_the_holder_then_waits_with_timeout(target: Target) -> None:
    first = acquire(target, "apply")
    with pytest.raises(
        EnvctlError, match=rf"locked by .*@.*:\d+ \(apply, since .*lease ID {first.id}\)"
    ):
        acquire(target, "apply", timeout=0)
    pauses: list[float] = []

    def holder_releases_while_we_wait(seconds: float) -> None:  # the waiter's sleep, injected
        pauses.append(seconds)
        release(target, first)

    second = acquire(target, "apply", timeout=600, sleep=holder_releases_while_we_wait)
    assert second.id != first.id and len(pauses) == 1, "it waited once, then took the free target"
    release(target, second)
    assert current_lease(target) is None


def test_expired_lease_is_broken_and_force_unlock_needs_the_right_id(target: Target) -> None:
    stale = acquire(target, "apply", ttl=-1)
    fresh = acquire(target, "apply")
    assert fresh.id != stale.id
    with pytest.raises(EnvctlError, match="not by lease ID 'nope'"):
        force_unlock(target, "nope")
    assert force_unlock(target, fresh.id).id == fresh.id
    assert current_lease(target) is None


def test_renewal_extends_the_lease_and_a_late_one_from_a_broken_holder_is_ignored(
    target: Target,
) -> None:
    old = acquire(target, "apply", ttl=60)
    renewed = renew(target, old, ttl=600)
    assert current_lease(target).expires == renewed.expires > old.expires
    force_unlock(target, old.id)
    new = acquire(target, "apply", ttl=60)
    with pytest.raises(
        LeaseLost, match=f"lease {old.id} .* was broken .* now held by .*lease ID {new.id}"
    ):
        renew(target, old, ttl=600)
    # The race renew() cannot rule out (read ours, then broken and re-taken, then written):
    target.put_bytes(renewal_object(old.id), b'{"id": "%s", "expires": 9e12}' % old.id.encode())
    assert current_lease(target) == new, "a renewal of another lease moved the new holder's expiry"
    assert dead_renewals(target, new.id) == [renewal_object(old.id)]
    release(target, new)
    assert current_lease(target) is None


@pytest.mark.parametrize("text, expected", [("", 3600.0), ("90s", 90.0), ("2h", 7200.0)])
def test_lease_ttl_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: float
) -> None:
    monkeypatch.setenv("ENVCTL_LEASE_TTL", text)
    assert lease_ttl() == expected


@pytest.mark.parametrize("text", ["soon", "0s"])
def test_bad_lease_ttl_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("ENVCTL_LEASE_TTL", text)
    with pytest.raises(EnvctlError, match=f"ENVCTL_LEASE_TTL .*{text!r}"):
        lease_ttl()


def test_gc_keeps_current_and_newest_and_respects_grace(target: Target, builds) -> None:
    locks = [make_lock("nlp", ("jieba", str(i))) for i in range(4)]
    for lock in locks:
        apply_lock(target, builds, lock)
    observed = observe(target)
    state = write_state(target, observed.state.with_current("nlp", 1))  # rolled back to v1
    now = time.time()
    assert select(state, observed.objects, now=now, keep=1, grace=3600).empty  # all too young
    doomed = select(state, observed.objects, now=now + 7200, keep=1, grace=3600)
    assert [v.version for v in doomed.versions["nlp"]] == [
        3,
        2,
    ]  # not v4 (newest), not v1 (current)
    assert set(doomed.objects) == {v.resource for v in doomed.versions["nlp"]} | {
        v.sbom
        for v in doomed.versions["nlp"]  # each version's SBOM goes with it
    }


def test_gc_collects_orphaned_archives_after_grace(target: Target, builds, tmp_path: Path) -> None:
    built = builds(ENV, LOCK1)
    target.put_file(archive_name("nlp", built.sha256), built.path, md5=built.md5)
    observed = observe(target)
    assert select(observed.state, observed.objects, now=time.time(), keep=1, grace=3600).empty
    late = select(observed.state, observed.objects, now=time.time() + 7200, keep=1, grace=3600)
    assert late.objects == (archive_name("nlp", built.sha256),)


def test_a_late_breaker_of_an_expired_lease_never_deletes_the_new_holders_lease(
    target: Target,
) -> None:
    stale = acquire(target, "apply", ttl=-1)
    seen_by_slow_process = current_lease(target)  # a second process reads the expired lease ...
    winner = acquire(target, "apply")  # ... while a third breaks it and takes the target
    assert seen_by_slow_process is not None and seen_by_slow_process.id == stale.id
    assert break_lease(target, seen_by_slow_process)  # the slow one breaks "its" expired lease
    assert (
        current_lease(target).id == winner.id
    )  # which is no longer there: the winner keeps its lease
    assert [o.name for o in target.list("envctl-lease-") if o.name.endswith(".breaking")] == []


def test_a_break_in_progress_elsewhere_makes_others_wait_and_a_stale_marker_is_cleared(
    target: Target,
) -> None:
    stale = acquire(target, "apply", ttl=-1)
    marker = f"envctl-lease-{stale.id}.breaking"
    target.create_exclusive(marker, b"")
    assert not break_lease(target, stale) and current_lease(target).id == stale.id
    assert not break_lease(
        target, stale, clock=lambda: time.time() + 3600
    )  # marker of a killed breaker: removed
    assert target.stat(marker) is None
    assert break_lease(target, stale) and current_lease(target) is None
