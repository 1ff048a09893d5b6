"""plan() is pure: every action and reason from hand-built desired/observed values."""

from __future__ import annotations

import json
from typing import Optional

import pytest

from envctl.cli.views.plan import MARKER, render_json, render_markdown
from envctl.deploy.observe import Observed, fingerprint
from envctl.deploy.plan import DesiredEnv, Plan, package_changes, plan
from envctl.deploy.state import State, VersionInfo, archive_name
from envctl.errors import EnvctlError
from envctl.targets.base import ObjectInfo

LOCK_A, LOCK_B = "a" * 64, "b" * 64
SHA_1, SHA_2 = "1" * 64, "2" * 64


def version(
    env: str, number: int, lock: str, sha: str, python: str = "3.11.9", size: int = 100
) -> VersionInfo:
    return VersionInfo(
        environment=env,
        version=number,
        resource=archive_name(env, sha),
        sha256=sha,
        md5="m",
        size=size,
        lock_hash=lock,
        python=python,
        platform="manylinux2014_x86_64",
        uploaded_modified=1000.0,
    )


def observed(
    *versions: VersionInfo,
    current: Optional[int] = None,
    objects: Optional[list[ObjectInfo]] = None,
) -> Observed:
    state = State()
    for v in versions:
        state = state.with_version(v)
    if current is not None and versions:
        state = state.with_current(versions[0].environment, current)
    if objects is None:
        objects = [ObjectInfo(v.resource, v.size, 1000.0) for v in versions]
    listing = {o.name: o for o in objects}
    return Observed(state, listing, fingerprint(state.to_bytes(), listing.values()))


def desired(
    lock: Optional[str] = LOCK_A,
    python: str = "3.11.9",
    platform: str = "manylinux2014_x86_64",
    problem: Optional[str] = None,
) -> dict[str, DesiredEnv]:
    return {"nlp": DesiredEnv("nlp", python, platform, lock, problem)}


V1 = version("nlp", 1, LOCK_A, SHA_1)


@pytest.mark.parametrize(
    "want, seen, action, reason",
    [
        (desired(), observed(), "create", "not deployed yet"),
        (desired(), observed(V1), "noop", None),
        (
            desired(lock=LOCK_B),
            observed(V1),
            "update",
            "lock changed (aaaaaaaaaaaa -> bbbbbbbbbbbb)",
        ),
        (desired(python="3.7.16"), observed(V1), "update", "python changed (3.11.9 -> 3.7.16)"),
        (desired(platform="manylinux2014_aarch64"), observed(V1), "update", "platform changed"),
        (desired(), observed(V1, objects=[]), "update", "archive missing"),
        (
            desired(),
            observed(V1, objects=[ObjectInfo(V1.resource, 99, 1000.0)]),
            "update",
            "changed out of band",
        ),
        (
            desired(),
            observed(V1, objects=[ObjectInfo(V1.resource, 100, 5000.0)]),
            "update",
            "changed out of band",
        ),
        ({}, observed(V1), "delete", "not in environments/"),
    ],
    ids=[
        "create",
        "noop",
        "lock",
        "python",
        "platform",
        "missing",
        "resized",
        "replaced",
        "delete",
    ],
)
def test_plan_action_and_reason(want, seen, action, reason) -> None:
    (change,) = plan(want, seen).changes
    assert change.action == action
    if reason is None:
        assert change.reasons == ()
    else:
        assert any(reason in r for r in change.reasons), change.reasons


def test_update_to_an_earlier_lock_reuses_that_version_without_building() -> None:
    v2 = version("nlp", 2, LOCK_B, SHA_2)
    (change,) = plan(desired(lock=LOCK_A), observed(V1, v2)).changes
    assert change.action == "update" and change.reuse_version == 1


def test_earlier_version_whose_archive_is_gone_is_not_reused() -> None:
    v2 = version("nlp", 2, LOCK_B, SHA_2)
    seen = observed(V1, v2, objects=[ObjectInfo(v2.resource, 100, 1000.0)])
    (change,) = plan(desired(lock=LOCK_A), seen).changes
    assert change.reuse_version is None


@pytest.mark.parametrize("problem", ["missing", "stale (the spec changed since it was locked)"])
def test_missing_or_stale_lock_is_an_error_telling_to_lock(problem: str) -> None:
    with pytest.raises(EnvctlError, match=r"nlp: lock .*run 'envctl lock nlp'"):
        plan(desired(lock=None, problem=problem), observed())


def test_only_limits_the_plan_and_rejects_unknown_names() -> None:
    want = {**desired(), "etl": DesiredEnv("etl", "3.7.16", "manylinux2014_x86_64", LOCK_B)}
    assert [c.environment for c in plan(want, observed(), only=["etl"]).changes] == ["etl"]
    with pytest.raises(EnvctlError, match="--only 'nope'"):
        plan(want, observed(), only=["nope"])


def test_plan_round_trips_through_json(tmp_path) -> None:
    original = plan(
        {
            **desired(lock=LOCK_B),
            "new": DesiredEnv("new", "3.7.16", "manylinux2014_x86_64", LOCK_A),
        },
        observed(V1),
        target="local:///x",
    )
    path = tmp_path / "plan.json"
    original.save(path)
    assert Plan.load(path) == original
    assert json.loads(render_json(original))["counts"] == {
        "create": 1,
        "update": 1,
        "delete": 0,
        "noop": 0,
    }


@pytest.mark.parametrize(
    "content", ["not json", "{}", '{"format": 1, "changes": [{"action": "explode"}]}', "[]"]
)
def test_corrupt_plan_file_is_a_clear_error(tmp_path, content: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(EnvctlError, match="is not a valid envctl plan"):
        Plan.load(path)


def test_markdown_has_sticky_marker_table_and_reasons() -> None:
    text = render_markdown(plan(desired(lock=LOCK_B), observed(V1), target="local:///x"))
    assert text.startswith(MARKER)
    assert "| `~` | `nlp` | update build + upload | v1 |" in text
    assert "lock changed" in text


def test_fingerprint_ignores_temporaries_but_not_archives() -> None:
    base = [ObjectInfo(V1.resource, 100, 1000.0)]
    fp = fingerprint(b"s", base)
    assert (
        fingerprint(b"s", [*base, ObjectInfo("envctl-x-000000000000.tar.gz", 1, 1.0, temp=True)])
        == fp
    )
    assert fingerprint(b"s", [*base, ObjectInfo("envctl-x-000000000000.tar.gz", 1, 1.0)]) != fp
    assert fingerprint(b"t", base) != fp


def test_package_changes_list_added_removed_and_upgraded_by_name() -> None:
    old = [("pandas", "2.3.1"), ("pytz", "2024.1"), ("six", "1.16.0")]
    new = [("pandas", "2.3.2"), ("six", "1.16.0"), ("jieba", "0.40")]
    assert package_changes(old, new) == ("+ jieba 0.40", "~ pandas 2.3.1 -> 2.3.2", "- pytz 2024.1")


def test_update_for_a_changed_lock_shows_package_diff_in_every_format() -> None:
    deployed = VersionInfo(**{**V1.__dict__, "packages": (("pandas", "2.3.1"), ("pytz", "2024.1"))})
    want = {
        "nlp": DesiredEnv(
            "nlp",
            "3.11.9",
            "manylinux2014_x86_64",
            LOCK_B,
            packages=(("pandas", "2.3.2"), ("pytz", "2024.1"), ("six", "1.17.0")),
        )
    }
    result = plan(want, observed(deployed))
    (change,) = result.changes
    assert change.packages_diff == ("~ pandas 2.3.1 -> 2.3.2", "+ six 1.17.0")
    markdown = render_markdown(result)
    assert "```diff\n! pandas 2.3.1 -> 2.3.2\n+ six 1.17.0\n```" in markdown
    assert json.loads(render_json(result))["changes"][0]["packages_diff"] == list(
        change.packages_diff
    )
    assert (
        Plan.from_json(json.loads(render_json(result))).changes[0].packages_diff
        == change.packages_diff
    )


def test_python_only_change_has_no_package_diff() -> None:
    deployed = VersionInfo(**{**V1.__dict__, "packages": (("six", "1.17.0"),)})
    want = {
        "nlp": DesiredEnv(
            "nlp", "3.11.10", "manylinux2014_x86_64", LOCK_A, packages=(("six", "1.17.0"),)
        )
    }
    (change,) = plan(want, observed(deployed)).changes
    assert change.action == "update" and change.packages_diff == ()


def test_new_environment_lists_every_package_it_will_pack() -> None:
    want = {
        "nlp": DesiredEnv(
            "nlp",
            "3.11.9",
            "manylinux2014_x86_64",
            LOCK_A,
            packages=(("jieba", "0.40"), ("six", "1.17.0")),
        )
    }
    (change,) = plan(want, observed()).changes
    assert change.action == "create" and change.packages_diff == ("+ jieba 0.40", "+ six 1.17.0")
