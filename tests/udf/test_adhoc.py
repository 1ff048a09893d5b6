"""Client-mode builds end to end: real builds from a local index, real pyodps to the emulator.

Decoration only queues the build; ``ready()`` (or MaxFrame's submission) waits for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from envctl.cli import main
from envctl.targets import open_target
from envctl.testing.emulator_fixtures import TEST_PROJECT
from envctl.udf import adhoc, ready, resources_of, with_python_requirements
from envctl.udf.resolution import clear_memo

HOUR = 3600


def process(row: str) -> str:
    return row + "_" + __import__("tinyseg").__version__


def uploads(emulator) -> int:
    """Resource uploads the emulator received (pyodps sends parts, then one merge)."""
    return emulator.stats.count("create") + emulator.stats.count("merge")


def resource_name(func) -> str:
    """The function's resource, once its background build is published."""
    ready()
    (ref,) = resources_of(func)
    return ref.rsplit("/", 1)[-1]


@pytest.fixture
def emulated(project, odps_target_url, monkeypatch):
    monkeypatch.setenv("ENVCTL_TARGET", odps_target_url)
    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    return open_target(None, project)


def test_first_use_builds_and_uploads_a_temporary_resource(emulated, adhoc_index, odps_emulator):
    marked = with_python_requirements("tinytext")(process)
    name = resource_name(marked)
    assert resources_of(marked) == [f"envctl_test/resources/{name}"]
    assert name.startswith("envctl_tmp-")
    info = emulated.stat(name)
    assert info is not None and info.temp
    assert adhoc.stats["builds"] == 1
    assert uploads(odps_emulator) == 1


def test_second_use_reuses_the_resource_without_building(
    emulated, adhoc_index, odps_emulator, monkeypatch
):
    first = resource_name(with_python_requirements("tinytext tinyseg==0.40")(process))
    monkeypatch.setenv("ENVCTL_RESOLVE_TTL", "0")  # skip the resolution cache: ask the target again
    clear_memo()
    before = uploads(odps_emulator)
    with adhoc_index.stopped():  # no resolution, no download: the index is offline
        second = resource_name(with_python_requirements("TinySeg == 0.40", "tinytext")(process))
    assert second == first
    assert adhoc.stats["builds"] == 1
    assert uploads(odps_emulator) == before


def test_expired_resource_is_rebuilt(emulated, adhoc_index, odps_emulator, monkeypatch):
    monkeypatch.setenv("ENVCTL_ADHOC_TTL", "1h")
    monkeypatch.setenv("ENVCTL_RESOLVE_TTL", "0")  # skip the resolution cache: ask the target again
    name = resource_name(with_python_requirements("tinytext")(process))
    odps_emulator.backdate(TEST_PROJECT, name, 2 * HOUR)  # uploaded two hours ago: expired
    first_modified = emulated.stat(name).modified
    clear_memo()
    assert resource_name(with_python_requirements("tinytext")(process)) == name
    assert adhoc.stats["builds"] == 2
    assert uploads(odps_emulator) == 2
    assert emulated.stat(name).modified > first_modified


def test_deleted_resource_is_repackaged_not_an_error(emulated, adhoc_index, monkeypatch):
    monkeypatch.setenv("ENVCTL_RESOLVE_TTL", "0")
    name = resource_name(with_python_requirements("tinytext")(process))
    emulated.delete(name)
    clear_memo()
    assert resource_name(with_python_requirements("tinytext")(process)) == name
    assert emulated.stat(name) is not None


def test_force_rebuild_takes_the_latest_versions_into_a_long_term_resource(
    emulated, adhoc_index, release
):
    temporary = resource_name(with_python_requirements("tinytext")(process))
    release("tinyseg", "0.41")
    pinned = resource_name(with_python_requirements("tinytext", force_rebuild=True)(process))
    assert pinned.startswith("envctl_pin-") and pinned != temporary
    assert emulated.stat(pinned).temp is False
    assert (
        resource_name(with_python_requirements("tinytext", force_rebuild=True)(process)) == pinned
    )
    assert adhoc.stats["builds"] == 2  # once per process, not once per decorated function


def test_gc_removes_expired_temporaries_only(
    emulated, adhoc_index, odps_emulator, monkeypatch, capfd
):
    monkeypatch.setenv("ENVCTL_ADHOC_TTL", "1h")
    name = resource_name(with_python_requirements("tinytext")(process))
    pinned = resource_name(with_python_requirements("tinytext", force_rebuild=True)(process))
    assert main(["gc", "--format", "json"]) == 0
    assert name not in json.loads(capfd.readouterr().out)["objects"]  # not expired yet
    for resource in (name, pinned):  # both uploaded two hours ago: only the temporary expires
        odps_emulator.backdate(TEST_PROJECT, resource, 2 * HOUR)
    assert main(["gc", "--format", "json"]) == 0
    assert name in json.loads(capfd.readouterr().out)["objects"]
    assert emulated.stat(name) is None
    assert emulated.stat(pinned) is not None  # the newest pin of its key stays


def test_gc_keeps_the_newest_pin_per_key_and_removes_older_ones_after_the_grace(
    emulated, monkeypatch
):
    from envctl.targets.base import ObjectInfo
    from envctl.udf.adhoc import superseded_pins

    def pin(key: str, stamp: str, modified: float) -> ObjectInfo:
        return ObjectInfo(f"envctl_pin-{key}-{stamp}.tar.gz", 1, modified)

    monkeypatch.setenv("ENVCTL_PIN_GRACE", "100")
    listing = [
        pin("aaaaaaaaaaaa", "20260101000000", 0),
        pin("aaaaaaaaaaaa", "20260102000000", 50),
        pin("aaaaaaaaaaaa", "20260103000000", 500),
        pin("bbbbbbbbbbbb", "20260101000000", 0),
        ObjectInfo("envctl_tmp-x.tar.gz", 1, 0),
    ]
    assert superseded_pins(listing, now=140) == ["envctl_pin-aaaaaaaaaaaa-20260101000000.tar.gz"]
    assert superseded_pins(listing, now=1000) == [
        "envctl_pin-aaaaaaaaaaaa-20260101000000.tar.gz",
        "envctl_pin-aaaaaaaaaaaa-20260102000000.tar.gz",
    ]


CONCURRENT = textwrap.dedent(
    """
    from envctl.udf import adhoc, ready, resources_of, with_python_requirements

    def process(row):
        return row

    marked = with_python_requirements("tinytext")(process)
    ready()
    print(resources_of(marked)[0], adhoc.stats["builds"])
    """
)


def test_concurrent_first_use_from_several_processes_builds_once(
    emulated, adhoc_index, odps_emulator
):
    env = {**os.environ, "ENVCTL_RESOLVE_TTL": "0"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    lines = [out.split() for out, _ in results]
    assert len({resource for resource, _ in lines}) == 1
    assert sum(int(builds) for _, builds in lines) == 1
    assert uploads(odps_emulator) == 1
