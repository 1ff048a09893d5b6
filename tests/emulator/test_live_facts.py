"""What was measured on a live MaxCompute project, as a contract any endpoint must keep.

Source of every "measured" assertion: the recording by the authors of the independent
dingxin-tech/maxcompute-emulator (one live project, Oct 2026, read through pyodps). Tests of
behaviour that was *not* measured say "assumed" in their name and need the emulator.

Against the emulator by default; against a real project with ``ENVCTL_CONTRACT_ENDPOINT`` and
``ENVCTL_CONTRACT_PROJECT`` (``pytest -m contract``). Requests go through pyodps's signed REST
client, so the same code runs on both.
"""

from __future__ import annotations

import hashlib
from typing import Optional
from urllib.parse import quote

import pytest
import requests
from odps import errors

from envctl.testing.emulator_fixtures import ResourceService

contract = pytest.mark.contract
Answer = tuple[int, Optional[str], str]


def _part(service: ResourceService, suffix: str, data: bytes) -> str:
    name = service.name(suffix)
    service.client.get_project().resources.create(
        name=name, type="file", temp=True, part=True, fileobj=data
    )
    return name


def _merge(
    service: ResourceService,
    name: str,
    parts: list[str],
    md5: str,
    total: Optional[str],
    *,
    overwrite: bool = False,
) -> Answer:
    """One merge request, as pyodps sends it, answered as (status, code, message)."""
    headers = {
        "x-odps-resource-type": "file",
        "x-odps-resource-name": name,
        "Content-Type": "application/octet-stream",
    }
    if total is not None:
        headers["x-odps-resource-merge-total-bytes"] = total
    url = service.client.get_project().resources.resource()
    send = service.client.rest.put if overwrite else service.client.rest.post
    try:
        response = send(
            f"{url}/{quote(name, safe='')}" if overwrite else url,
            f"{md5}|{','.join(parts)}",
            headers=headers,
            params={"rOpMerge": "true"},
        )
    except errors.ODPSError as exc:
        return exc.status_code, exc.code, str(exc)
    return response.status_code, None, ""


@pytest.fixture
def service(resource_service: ResourceService) -> ResourceService:
    return resource_service


def _exists(service: ResourceService, name: str) -> bool:
    return bool(service.client.exist_resource(name))


@contract
def test_parts_are_hidden_from_listings_but_addressable_by_name(service: ResourceService) -> None:
    part = _part(service, "x.tar.gz.part.tmp.000001.000000", b"abc")
    other = service.name("x.tar.gz.other")
    service.client.create_resource(other, "file", fileobj=b"listed")

    listed = [r.name for r in service.client.list_resources(prefix=service.prefix + "x.tar.gz")]
    assert listed == [other]
    assert list(service.client.list_resources(prefix=part)) == []
    resource = service.client.get_resource(part)
    resource.reload()
    assert resource.size == 3
    service.client.delete_resource(part)
    assert not _exists(service, part)


@contract
def test_bad_md5_merge_is_500_and_consumes_the_parts(service: ResourceService) -> None:
    parts = [_part(service, "p0", b"abc"), _part(service, "p1", b"def")]
    target = service.name("m.bin")

    status, code, text = _merge(service, target, parts, "0" * 32, "6")

    assert (status, code) == (500, "InternalServerError") and "ODPS-0421213" in text
    assert not any(_exists(service, p) for p in parts) and not _exists(service, target)


@contract
def test_wrong_declared_total_is_ignored(service: ResourceService) -> None:
    data = b"x" * 304
    part, target = _part(service, "p0", data), service.name("m.bin")

    status, _, text = _merge(service, target, [part], hashlib.md5(data).hexdigest(), "4400")

    assert status == 201, text
    with service.client.open_resource(target, mode="rb") as handle:
        assert handle.read() == data
    assert not _exists(service, part), "a merge that publishes consumes its parts"


@contract
def test_merge_without_total_header_is_refused_and_keeps_parts(service: ResourceService) -> None:
    part, target = _part(service, "p0", b"abc"), service.name("m.bin")

    status, code, text = _merge(service, target, [part], hashlib.md5(b"abc").hexdigest(), None)

    assert (status, code) == (400, "InvalidParameter") and "ODPS-0420051" in text
    assert _exists(service, part) and not _exists(service, target)


@contract
def test_merge_onto_existing_resource_is_refused_first_and_keeps_parts(
    service: ResourceService,
) -> None:
    target = service.name("m.bin")
    service.client.create_resource(target, "file", fileobj=b"old")
    part = _part(service, "p0", b"abc")

    # A wrong declared total and a bad md5 as well: the target check comes first.
    status, code, text = _merge(service, target, [part], "0" * 32, "4400")

    assert (status, code) == (409, "ObjectAlreadyExists") and "ODPS-0421121" in text
    assert _exists(service, part)
    with service.client.open_resource(target, mode="rb") as handle:
        assert handle.read() == b"old"


@contract
def test_merge_naming_an_absent_part_is_404_and_keeps_the_others(service: ResourceService) -> None:
    part, target = _part(service, "p0", b"abc"), service.name("m.bin")

    status, code, _ = _merge(service, target, [part, service.name("never")], "0" * 32, "3")

    assert (status, code) == (404, "NoSuchObject")
    assert _exists(service, part)


@contract
def test_names_resolve_case_insensitively_keeping_their_spelling_assumed(
    service: ResourceService,
) -> None:
    name = service.name("Mixed.TXT")
    service.client.create_resource(name, "file", fileobj=b"x")

    resource = service.client.get_resource(name.lower())
    resource.reload()
    assert resource.size == 1
    with pytest.raises(errors.ObjectAlreadyExists):
        service.client.create_resource(name.upper(), "file", fileobj=b"y")
    listed = [r.name for r in service.client.list_resources(prefix=service.prefix + "mixed")]
    assert listed == [name]
    service.client.delete_resource(name.upper())
    assert not _exists(service, name)


def test_rest_api_is_served_only_under_api_assumed(service: ResourceService) -> None:
    emulator = service.needs_emulator("the gateway's answer outside /api is not measured")
    auth = {"Authorization": "ODPS ak:sig"}
    outside = requests.get(f"{emulator.base_url}/projects/p/resources", headers=auth, timeout=60)
    inside = requests.get(f"{emulator.endpoint}/projects/p/resources", headers=auth, timeout=60)

    assert outside.status_code == 404 and "x-odps-request-id" not in outside.headers
    parsed = errors.parse_response(outside)
    assert isinstance(parsed, errors.NoSuchObject) and parsed.code is None  # pyodps's reading
    assert inside.status_code == 200


# -- F9 (assumed: emulator hardening, not a live fact) ------------------------------------
@pytest.mark.parametrize("case", ["not-a-part", "duplicate", "into-itself"])
def test_only_distinct_part_uploads_merge_assumed(service: ResourceService, case: str) -> None:
    service.needs_emulator("hardening of the emulator, not measured live")
    state = service.name("state.json")
    service.client.create_resource(state, "file", fileobj=b"{}")
    part = _part(service, "p0", b"abc")
    parts = {"not-a-part": [state], "duplicate": [part, part], "into-itself": [part]}[case]
    target = part if case == "into-itself" else service.name("m.bin")
    data = b"".join(b"{}" if p == state else b"abc" for p in parts)

    status, _, _ = _merge(
        service, target, parts, hashlib.md5(data).hexdigest(), "3", overwrite=case == "into-itself"
    )

    assert status == 400
    assert _exists(service, state) and _exists(service, part)
    assert case == "into-itself" or not _exists(service, target)


def test_merge_runs_under_the_store_lock_assumed(service: ResourceService) -> None:
    store = service.needs_emulator("emulator internals").store
    held: list[bool] = []
    concatenate = store.concatenate

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        held.append(store._lock._is_owned())  # type: ignore[attr-defined]
        return concatenate(*args, **kwargs)

    store.concatenate = watched  # type: ignore[method-assign]
    part = _part(service, "p0", b"abc")

    assert (
        _merge(service, service.name("m"), [part], hashlib.md5(b"abc").hexdigest(), "3")[0] == 201
    )
    assert held == [True]
