"""Views render result values: text for people and JSON for machines, from the same value."""

from __future__ import annotations

import json
from pathlib import Path

from envctl.build.builder import BuiltArchive
from envctl.build.size import human
from envctl.build.verify import ModuleResult, VerifyResult
from envctl.cli.views import apply as apply_view
from envctl.cli.views import build as build_view
from envctl.cli.views import emulator as emulator_view
from envctl.cli.views import gc as gc_view
from envctl.cli.views import lock as lock_view
from envctl.cli.views import plan as plan_view
from envctl.cli.views import status as status_view
from envctl.cli.views import validate as validate_view
from envctl.cli.views import verify as verify_view
from envctl.deploy.apply import ApplyResult, Outcome
from envctl.deploy.plan import Plan
from envctl.deploy.retention import GcResult
from envctl.deploy.state import VersionInfo
from envctl.deploy.status import EnvStatus
from envctl.spec.loader import LoadResult, Problem
from tests.deploy.helpers import make_version

SIZE = 48_138_436


def _version(number: int, size: int = SIZE, created: float = 0.0) -> VersionInfo:
    return make_version(number, size=size, lock_hash="l", created=created)


def test_one_size_format_in_binary_units() -> None:
    assert [human(n) for n in (0, 1023, 1024, SIZE, 3 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "45.9 MiB",
        "3.0 GiB",
    ]


def test_status_rows_are_aligned_and_never_wrapped() -> None:
    long_reason = "lock changed (3adc2b2601b8 -> 38df28209699); drift: " + "x" * 120
    rows = [
        EnvStatus("nlp", _version(3, created=1000.0), long_reason),
        EnvStatus("base", None, "not deployed yet"),
    ]
    text = status_view.render_text(rows, "local:///store", now=1000.0 + 2 * 86400)
    lines = text.splitlines()
    assert lines[0] == "Target: local:///store" and len(lines) == 4
    assert (
        lines[2].endswith(long_reason)
        and "v3" in lines[2]
        and human(SIZE) in lines[2]
        and " 2d " in lines[2]
    )
    assert lines[1].index("git") == lines[2].index("lock changed") == lines[3].index("not deployed")
    data = json.loads(status_view.render_json(rows, "local:///store"))
    assert data["environments"][0]["size"] == SIZE and data["environments"][1]["version"] is None


def test_gc_lists_each_version_once_with_its_archive() -> None:
    v1, v2 = _version(1), _version(2)
    result = GcResult(
        dry_run=True,
        versions={"nlp": (v2, v1)},
        archives=(v1.resource, v2.resource),
        orphans=("envctl-x-000000000000.tar.gz",),
        leftovers=(".part",),
    )
    text = gc_view.render_text(result)
    assert text.splitlines() == [
        f"Would delete nlp v2 ({v2.resource})",
        f"Would delete nlp v1 ({v1.resource})",
        "Would delete envctl-x-000000000000.tar.gz (orphaned archive)",
        "Would delete .part (left by an interrupted upload)",
    ]
    data = json.loads(gc_view.render_json(result))
    assert (
        data["versions"] == {"nlp": ["v2", "v1"]}
        and data["objects"][-1] == "envctl-x-000000000000.tar.gz"
    )
    assert gc_view.render_text(GcResult(dry_run=False)) == "Nothing to collect.\n"


def test_apply_summary_and_json_from_one_result() -> None:
    result = ApplyResult([Outcome("nlp", "create", f"x uploaded ({human(SIZE)}), now v1", 1, SIZE)])
    assert apply_view.render_text(result, 3.25).splitlines() == [
        "  nlp: x uploaded (45.9 MiB), now v1",
        "Apply complete: 1 environment(s) changed in 3.2 s.",
    ]
    assert json.loads(apply_view.render_json(result))["outcomes"][0]["uploaded_bytes"] == SIZE


def test_verify_counts_skips_apart_from_imports() -> None:
    result = VerifyResult(
        Path("/py"),
        (
            ModuleResult("a", "a", True),
            ModuleResult("b", "b", False, "No module named 'x'", skipped=True),
            ModuleResult("c", "c", False, "ImportError: boom"),
        ),
    )
    assert verify_view.summary(result) == "1 module import, 1 skipped (excluded), 1 failed in /py"
    assert verify_view.module_lines(result).splitlines()[1] == (
        "skip b (b): No module named 'x' (excluded; provided by the cluster)"
    )
    assert json.loads(verify_view.render_json("nlp", result, Path("a.tgz")))["counts"] == {
        "imported": 1,
        "skipped": 1,
        "failed": 1,
    }


def test_build_uses_the_size_format() -> None:
    built = BuiltArchive(
        Path("/c/a.tar.gz"), "s" * 64, "m", SIZE, "l", (("pandas", "2.3.2"),), (("pandas", SIZE),)
    )
    text = build_view.render_text("nlp", built)
    assert "size 45.9 MiB" in text and "largest (unpacked): pandas 45.9 MiB" in text
    assert json.loads(build_view.render_json("nlp", built))["size"] == SIZE


def test_validate_and_lock_and_emulator_views() -> None:
    result = LoadResult(problems=[Problem(Path("a.yaml"), 3, 5, "bad", ("    x", "    ^"))])
    assert validate_view.problem_lines(result) == "a.yaml:3:5: bad\n    x\n    ^\n"
    assert validate_view.summary(result) == "1 problem(s) in 1 file(s)"
    assert json.loads(validate_view.render_json(result))["problems"][0]["column"] == 5
    rows = [
        lock_view.check_row("nlp", Path("environments/pylock.nlp.toml"), "stale (spec changed)")
    ]
    assert lock_view.render_text(rows, check=True) == "nlp: stale (spec changed)\n"
    assert lock_view.not_current(rows) == "locks not current: nlp (stale); run 'envctl lock'"
    info = {"endpoint": "http://h/api", "target": "odps://p?endpoint=http://h/api"}
    assert (
        emulator_view.render_text(info).splitlines()[1]
        == "export ENVCTL_TARGET='odps://p?endpoint=http://h/api'"
    )
    assert json.loads(emulator_view.render_json(info)) == info
    with_token = {**info, "control_token": "t0k"}
    assert emulator_view.render_text(with_token).splitlines()[2] == "control token: t0k"


def test_plan_json_created_is_iso_8601_utc() -> None:
    plan = Plan(target="t", fingerprint="f", changes=(), created=1795672454.0)
    data = json.loads(plan_view.render_json(plan))
    assert data["created"] == "2026-11-26T05:54:14Z"
    assert Plan.from_json(data).created == 1795672454.0
    assert (
        Plan.from_json({**data, "created": 1795672454.0}).created == 1795672454.0
    )  # plans saved before


def test_plan_text_is_plain_lines_with_styles_kept_apart() -> None:
    from envctl.deploy.plan import Change

    plan = Plan(
        target="t",
        fingerprint="f",
        changes=(
            Change(
                "nlp",
                "update",
                ("lock changed (a -> b)",),
                current_version=2,
                python="3.11.9",
                packages_diff=("~ pandas 2.3.1 -> 2.3.2",),
            ),
        ),
    )
    assert plan_view.render_text(plan).splitlines() == [
        "Target: t",
        "~ nlp: update, build + upload (now v2, python 3.11.9)",
        "    - lock changed (a -> b)",
        "        ~ pandas 2.3.1 -> 2.3.2",
        "Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged.",
    ]
    assert [style for _, style in plan_view.styled_lines(plan)] == [
        None,
        "yellow",
        None,
        "yellow",
        None,
    ]
