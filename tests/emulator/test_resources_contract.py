"""The emulator speaks MaxCompute's resource API as the real, unmodified pyodps client sees it.

Tests marked ``contract`` run against ``ENVCTL_CONTRACT_ENDPOINT`` too (prefixed names, deleted
afterwards); the others need the emulator's configuration, counters or data directory.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
import requests
from odps import ODPS, errors
from odps.models import ArchiveResource, FileResource, Resource

from envctl.emulator import Emulator
from envctl.targets.base import hex_md5
from envctl.testing.emulator_fixtures import (
    ResourceService,
    emulator_target_url,
    make_odps_client,
)

contract = pytest.mark.contract


def _reloaded(client: ODPS, name: str) -> Resource:
    resource = client.get_resource(name)
    resource.reload()
    return resource


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg/__init__.py", "VALUE = 42\n")
    return buffer.getvalue()


@pytest.fixture
def service(resource_service: ResourceService) -> ResourceService:
    return resource_service


@contract
def test_file_resource_round_trips_with_meta(service: ResourceService) -> None:
    client, name = service.client, service.name("hello.txt")
    content = b"print('hello')\n" * 100
    created = client.create_resource(name, "file", fileobj=content, comment="greeting")
    assert isinstance(created, FileResource)

    meta = _reloaded(client, name)
    assert meta.type == Resource.Type.FILE
    assert meta.size == len(content)
    assert hex_md5(meta.content_md5) == hashlib.md5(content).hexdigest()  # hex or base64
    assert meta.comment == "greeting"
    assert meta.owner == "ALIYUN$envctl-test-ak" if service.emulator else meta.owner
    assert meta.is_temp_resource is False
    assert meta.creation_time is not None and meta.last_modified_time is not None
    with client.open_resource(name, mode="rb") as handle:
        assert handle.read() == content


@contract
def test_archive_resource_keeps_its_type_and_bytes(service: ResourceService) -> None:
    client, name = service.client, service.name("env.zip")
    payload = _zip_bytes()
    client.create_resource(name, "archive", fileobj=io.BytesIO(payload))

    meta = _reloaded(client, name)
    assert isinstance(client.get_resource(name), ArchiveResource)
    assert meta.type == Resource.Type.ARCHIVE
    with client.open_resource(name, mode="rb", type="archive") as handle:
        assert handle.read() == payload


@contract
def test_temp_flag_is_sent_as_header_and_reported_by_meta(service: ResourceService) -> None:
    name = service.name("scratch.txt")
    service.client.create_resource(name, "file", fileobj=b"tmp", temp=True)

    assert _reloaded(service.client, name).is_temp_resource is True


@contract
def test_exist_resource_distinguishes_present_and_absent(service: ResourceService) -> None:
    present, absent = service.name("present.txt"), service.name("absent.txt")
    service.client.create_resource(present, "file", fileobj=b"x")

    assert service.client.exist_resource(present) is True
    assert service.client.exist_resource(absent) is False


@contract
def test_missing_resource_raises_pyodps_no_such_object(service: ResourceService) -> None:
    with pytest.raises(errors.NoSuchObject) as caught:
        service.client.get_resource(service.name("nope.txt")).reload()
    assert caught.value.status_code == 404
    assert caught.value.code, "a MaxCompute error body, not a bare 404"


@contract
def test_duplicate_create_raises_object_already_exists(service: ResourceService) -> None:
    client, name = service.client, service.name("dup.txt")
    client.create_resource(name, "file", fileobj=b"first")

    with pytest.raises(errors.ObjectAlreadyExists):
        client.create_resource(name, "file", fileobj=b"second")
    with client.open_resource(name, mode="rb") as handle:
        assert handle.read() == b"first"


@contract
def test_update_replaces_content_and_keeps_creation_time(service: ResourceService) -> None:
    client, name = service.client, service.name("cfg.txt")
    client.create_resource(name, "file", fileobj=b"old content")
    created = _reloaded(client, name).creation_time

    client.get_resource(name).update(file_obj=b"new")

    meta = _reloaded(client, name)
    assert meta.size == 3
    assert hex_md5(meta.content_md5) == hashlib.md5(b"new").hexdigest()
    assert meta.creation_time == created
    with client.open_resource(name, mode="rb") as handle:
        assert handle.read() == b"new"


@contract
def test_delete_removes_resource(service: ResourceService) -> None:
    client, name = service.client, service.name("gone.txt")
    client.create_resource(name, "file", fileobj=b"x")

    client.delete_resource(name)

    assert client.exist_resource(name) is False
    with pytest.raises(errors.NoSuchObject):
        client.delete_resource(name)


def test_listing_pages_through_markers(odps_emulator: Emulator, odps_client: ODPS) -> None:
    names = sorted(f"res_{index:02d}.txt" for index in range(25))
    for name in names:
        odps_client.create_resource(name, "file", fileobj=name.encode())
    odps_client.create_resource("other.txt", "file", fileobj=b"x")
    odps_emulator.configure(list_page_size=10)
    odps_emulator.stats.reset()

    listed = [resource.name for resource in odps_client.list_resources(prefix="res_")]

    assert listed == names
    assert odps_emulator.stats.count(kind="list") == 3
    assert {r.name: r.size for r in odps_client.list_resources(prefix="other")} == {"other.txt": 1}


def test_listing_honours_maxitems_and_marker(odps_emulator: Emulator, odps_client: ODPS) -> None:
    for index in range(5):
        odps_client.create_resource(f"m{index}", "file", fileobj=b"x")
    url = f"{odps_emulator.endpoint}/projects/envctl_test/resources"
    headers = {"Authorization": "ODPS ak:sig"}

    first = requests.get(url, params={"maxitems": 2}, headers=headers, timeout=60)
    second = requests.get(url, params={"maxitems": 2, "marker": "m1"}, headers=headers, timeout=60)
    last = requests.get(url, params={"maxitems": 2, "marker": "m3"}, headers=headers, timeout=60)

    assert "<Name>m0</Name><Owner>" in first.text and "<Marker>m1</Marker>" in first.text
    assert "<Name>m2</Name>" in second.text and "<Marker>m3</Marker>" in second.text
    assert "<Name>m4</Name>" in last.text and "<Marker/>" in last.text


def test_request_without_authorization_is_refused(odps_emulator: Emulator) -> None:
    response = requests.get(f"{odps_emulator.endpoint}/projects/envctl_test/resources", timeout=60)

    assert response.status_code == 401
    parsed = errors.parse_response(response)
    assert isinstance(parsed, errors.Unauthorized)
    assert "invalid or missing" in str(parsed)


def test_any_project_is_created_on_first_use(odps_emulator: Emulator) -> None:
    client = make_odps_client(odps_emulator, project="brand_new_project")

    assert client.exist_project("brand_new_project") is True
    assert client.get_project().owner == "ALIYUN$envctl-test-ak"
    client.create_resource("a.txt", "file", fileobj=b"a")
    assert [r.name for r in make_odps_client(odps_emulator).list_resources()] == []


def test_restart_with_same_data_dir_keeps_resources(tmp_path) -> None:
    data = tmp_path / "data"
    with Emulator(data) as first:
        make_odps_client(first).create_resource("kept.txt", "file", fileobj=b"survives", temp=True)

    with Emulator(data) as second:
        client = make_odps_client(second)
        meta = _reloaded(client, "kept.txt")
        assert meta.is_temp_resource is True
        with client.open_resource("kept.txt", mode="rb") as handle:
            assert handle.read() == b"survives"


def test_oversize_single_upload_is_rejected_with_service_code(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    odps_emulator.configure(max_resource_size=1024 * 1024)

    with pytest.raises(errors.InvalidParameter) as caught:
        odps_client.create_resource("huge.bin", "file", fileobj=b"\0" * (2 * 1024 * 1024))

    assert "ODPS-0420061" in str(caught.value)
    assert caught.value.status_code == 400
    assert odps_client.exist_resource("huge.bin") is False


def test_ranged_reads_report_remaining_content(odps_emulator: Emulator, odps_client: ODPS) -> None:
    content = bytes(range(256)) * 4
    odps_client.create_resource("ranged.bin", "file", fileobj=content)
    resources = odps_client.get_project().resources
    resource = odps_client.get_resource("ranged.bin")  # pyodps only accepts objects here

    head = resources.read_resource(resource, offset=0, read_size=1000)
    tail = resources.read_resource(resource, offset=1000, read_size=1000)

    assert (head.read(), head.is_eof) == (content[:1000], False)
    assert (tail.read(), tail.is_eof) == (content[1000:], True)
    with pytest.raises(errors.InvalidParameter):
        resources.read_resource(resource, offset=len(content) + 1)


def test_target_url_names_project_and_endpoint(odps_emulator: Emulator) -> None:
    assert (
        emulator_target_url(odps_emulator, "proj")
        == f"odps://proj?endpoint={odps_emulator.endpoint}"
    )


def test_head_meta_reports_the_same_headers_as_get_meta(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    odps_client.create_resource("h.txt", "file", fileobj=b"head")
    url = f"{odps_emulator.endpoint}/projects/envctl_test/resources/h.txt?meta"
    headers = {"Authorization": "ODPS ak:sig"}

    head = requests.head(url, headers=headers, timeout=60)
    get = requests.get(url, headers=headers, timeout=60)

    assert head.status_code == get.status_code == 200
    for key in ("x-odps-resource-size", "Content-MD5", "x-odps-resource-type", "x-odps-owner"):
        assert head.headers[key] == get.headers[key]


def test_concurrent_uploads_all_land(odps_emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def upload(index: int) -> None:
        make_odps_client(odps_emulator).create_resource(
            f"c{index:02d}", "file", fileobj=bytes([index]) * 100_000
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(upload, range(16)))

    client = make_odps_client(odps_emulator)
    assert {r.name: r.size for r in client.list_resources()} == {
        f"c{i:02d}": 100_000 for i in range(16)
    }


def test_interrupted_upload_leftovers_are_swept_on_start(tmp_path) -> None:
    data = tmp_path / "data"
    Emulator(data)  # creates the layout
    (data / "incoming" / "upload-crashed").write_bytes(b"half an upload")

    with Emulator(data):
        assert list((data / "incoming").iterdir()) == []


def test_schemas_scope_resources_by_curr_schema(odps_client: ODPS) -> None:
    odps_client.create_resource("s.txt", "file", fileobj=b"in schema", schema="analytics")

    assert odps_client.exist_resource("s.txt") is False
    assert odps_client.exist_resource("s.txt", schema="analytics") is True
    assert [r.name for r in odps_client.list_resources(schema="analytics")] == ["s.txt"]
