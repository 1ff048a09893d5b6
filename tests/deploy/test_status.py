"""``status(desired, observed)``: pure rows, one per declared or deployed environment."""

from __future__ import annotations

from envctl.deploy.plan import DesiredEnv
from envctl.deploy.state import Observed, State, VersionInfo, archive_name
from envctl.deploy.status import status
from envctl.targets.base import ObjectInfo


def _observed(*versions: VersionInfo) -> Observed:
    state = State()
    for v in versions:
        state = state.with_version(v)
    objects = {v.resource: ObjectInfo(v.resource, v.size, 0.0) for v in versions}
    return Observed(state, objects, "f")


def _version(env: str, lock: str) -> VersionInfo:
    sha = "a" * 64
    return VersionInfo(
        env, 1, archive_name(env, sha), sha, "m", 10, lock, "3.11.9", "manylinux2014_x86_64"
    )


def test_rows_say_in_sync_why_not_or_that_git_dropped_the_environment() -> None:
    desired = {
        "same": DesiredEnv("same", "3.11.9", "manylinux2014_x86_64", "l1"),
        "moved": DesiredEnv("moved", "3.11.9", "manylinux2014_x86_64", "l2" * 6),
        "new": DesiredEnv("new", "3.11.9", "manylinux2014_x86_64", "l3"),
        "broken": DesiredEnv("broken", "3.11.9", "manylinux2014_x86_64", None, "missing"),
    }
    observed = _observed(
        _version("same", "l1"), _version("moved", "l1" * 6), _version("dropped", "l9")
    )
    rows = {row.environment: row for row in status(desired, observed)}
    assert list(rows) == ["broken", "dropped", "moved", "new", "same"]
    assert rows["same"].in_sync and rows["same"].deployed.version == 1
    assert rows["moved"].sync == "lock changed (l1l1l1l1l1l1 -> l2l2l2l2l2l2)"
    assert rows["new"].sync == "not deployed yet" and rows["new"].deployed is None
    assert rows["broken"].sync == "lock missing"
    assert rows["dropped"].sync.startswith("not in environments/")
    assert rows["same"].to_json()["in_sync"] is True and rows["new"].to_json()["version"] is None
