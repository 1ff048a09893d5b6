"""Property-based invariants of the pure ``plan()`` and of the plan JSON (what CI and apply
consume).
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.cli.views.plan import render_json
from envctl.deploy.observe import Observed, fingerprint
from envctl.deploy.plan import DesiredEnv, Plan, plan
from envctl.deploy.state import EnvState, State, VersionInfo, archive_name
from envctl.targets.base import ObjectInfo

NAMES = ("alpha", "beta", "gamma", "delta")
LOCKS = tuple(c * 64 for c in "abc")
PYTHONS = ("3.11.9", "3.7.9")
PLATFORM = "manylinux2014_x86_64"
MODIFIED = 1000.0


@st.composite
def deployed_env(draw: st.DrawFn, name: str) -> tuple[EnvState, list[ObjectInfo]]:
    """A history of 1-3 versions, a current one (or none), archives present, missing or resized."""
    count = draw(st.integers(1, 3))
    versions, objects = [], []
    for number in range(1, count + 1):
        sha = f"{name[0]}{number}".ljust(64, "0")
        info = VersionInfo(
            name,
            number,
            archive_name(name, sha),
            sha,
            "m",
            100,
            draw(st.sampled_from(LOCKS)),
            draw(st.sampled_from(PYTHONS)),
            PLATFORM,
            uploaded_modified=MODIFIED,
        )
        versions.append(info)
        archive = draw(st.sampled_from(("present", "missing", "resized")))
        if archive != "missing":
            objects.append(ObjectInfo(info.resource, 100 if archive == "present" else 99, MODIFIED))
    current = draw(st.one_of(st.none(), st.integers(1, count)))
    return EnvState(name, current, tuple(versions)), objects


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, DesiredEnv], Observed]:
    deployed_names = draw(st.sets(st.sampled_from(NAMES)))
    desired_names = draw(st.sets(st.sampled_from(NAMES)))
    envs, listing = {}, {}
    for name in sorted(deployed_names):
        env, objects = draw(deployed_env(name))
        envs[name] = env
        listing.update({o.name: o for o in objects})
    state = State(serial=draw(st.integers(0, 5)), environments=envs)
    observed = Observed(state, listing, fingerprint(state.to_bytes(), listing.values()))
    desired = {
        name: DesiredEnv(
            name, draw(st.sampled_from(PYTHONS)), PLATFORM, draw(st.sampled_from(LOCKS))
        )
        for name in sorted(desired_names)
    }
    return desired, observed


def intact(observed: Observed, version: VersionInfo) -> bool:
    info = observed.objects.get(version.resource)
    return info is not None and info.size == version.size


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_plan_covers_each_environment_once_and_noop_means_exactly_in_sync(scenario) -> None:
    desired, observed = scenario
    result = plan(desired, observed, target="local:///x")
    by_name = {c.environment: c for c in result.changes}
    assert len(by_name) == len(result.changes), "an environment appears twice"
    assert set(by_name) == set(desired) | set(observed.state.environments)
    for name, change in by_name.items():
        assert (change.action == "delete") == (name not in desired), (
            "delete only (and always) for undeclared envs"
        )
        if name not in desired:
            continue
        want, current = desired[name], observed.state.env(name).current_version
        in_sync = (
            current is not None
            and current.lock_hash == want.lock_hash
            and current.python == want.python
            and intact(observed, current)
        )
        assert (change.action == "noop") == in_sync, (change, current)
        if change.reuse_version is not None:
            reused = observed.state.env(name).version(change.reuse_version)
            assert (
                reused is not None
                and reused.lock_hash == want.lock_hash
                and intact(observed, reused)
            )
            assert change.reuse_version != observed.state.env(name).current
    assert result.to_build == [
        c.environment
        for c in result.changes
        if c.action in ("create", "update") and c.reuse_version is None
    ]


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.sets(st.sampled_from(NAMES), max_size=2))
def test_plan_json_round_trips_and_only_narrows_to_the_named_environments(scenario, only) -> None:
    desired, observed = scenario
    known = set(desired) | set(observed.state.environments)
    only = sorted(only & known)
    result = plan(desired, observed, target="odps://p?endpoint=http://h/api", only=only)
    if only:
        assert {c.environment for c in result.changes} == set(only)
    data = json.loads(render_json(result))
    assert Plan.from_json(data) == result
    assert data["to_build"] == result.to_build and data["has_changes"] == result.has_changes
    assert sum(data["counts"].values()) == len(result.changes)
