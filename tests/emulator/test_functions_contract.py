"""The emulator's SQL function registration, as the real, unmodified pyodps client uses it."""

from __future__ import annotations

import pytest
from odps import ODPS, errors

from envctl.emulator import Emulator
from envctl.testing.emulator_fixtures import make_odps_client


def _resources(client: ODPS, *names: str) -> None:
    for name in names:
        rtype = "py" if name.endswith(".py") else "archive" if name.endswith(".tar.gz") else "file"
        client.create_resource(name, rtype, fileobj=b"x = 1\n")


def test_create_get_update_list_delete(odps_client: ODPS) -> None:
    _resources(odps_client, "seg.py", "env-a.tar.gz", "env-b.tar.gz")
    odps_client.create_function(
        "segment_text", class_type="seg.Segment", resources=["seg.py", "env-a.tar.gz"]
    )
    function = odps_client.get_function("segment_text")
    function.reload()
    assert function.class_type == "seg.Segment"
    assert [r.name for r in function.resources] == ["seg.py", "env-a.tar.gz"]
    assert function.owner and function.creation_time is not None

    function.resources = ["seg.py", "env-b.tar.gz"]
    function.update()
    again = odps_client.get_function("segment_text")
    again.reload()
    assert [r.name for r in again.resources] == ["seg.py", "env-b.tar.gz"]

    odps_client.create_function("other", class_type="seg.Other", resources=["seg.py"])
    assert sorted(f.name for f in odps_client.list_functions()) == ["other", "segment_text"]
    odps_client.delete_function("other")
    assert [f.name for f in odps_client.list_functions()] == ["segment_text"]
    assert not odps_client.exist_function("other")


def test_a_function_needs_its_resources_and_a_free_name(odps_client: ODPS) -> None:
    with pytest.raises(errors.NoSuchObject):
        odps_client.create_function("f", class_type="m.C", resources=["missing.py"])
    _resources(odps_client, "m.py")
    odps_client.create_function("f", class_type="m.C", resources=["m.py"])
    with pytest.raises(errors.ODPSError):
        odps_client.create_function("f", class_type="m.C", resources=["m.py"])


def test_functions_list_in_pages_and_per_project(odps_emulator: Emulator) -> None:
    odps_emulator.list_page_size = 2
    client = make_odps_client(odps_emulator, "proj_a")
    _resources(client, "m.py")
    for name in ("f1", "f2", "f3", "f4", "f5"):
        client.create_function(name, class_type="m.C", resources=["m.py"])
    assert [f.name for f in client.list_functions()] == ["f1", "f2", "f3", "f4", "f5"]
    assert list(make_odps_client(odps_emulator, "proj_b").list_functions()) == []


def test_functions_live_in_schemas_too(odps_client: ODPS) -> None:
    odps_client.create_resource("m.py", "py", fileobj=b"x = 1\n", schema="s1")
    with pytest.raises(errors.NoSuchObject):  # the resource is in s1, not in the default schema
        odps_client.create_function("f", class_type="m.C", resources=["m.py"])
    odps_client.create_function("f", class_type="m.C", resources=["m.py"], schema="s1")
    assert [f.name for f in odps_client.list_functions(schema="s1")] == ["f"]
    assert list(odps_client.list_functions()) == []
    function = odps_client.get_function("f", schema="s1")
    function.reload()
    assert function.class_type == "m.C"
    odps_client.delete_function("f", schema="s1")
    assert not odps_client.exist_function("f", schema="s1")
