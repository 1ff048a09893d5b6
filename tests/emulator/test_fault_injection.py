"""Fault injection and counters, driven in-process and over the HTTP control API."""

from __future__ import annotations

import os
import time

import pytest
import requests
from odps import ODPS, errors

from envctl.emulator import Emulator
from envctl.testing.emulator_fixtures import control_session


def test_nth_create_fails_with_injected_500(odps_emulator: Emulator, odps_client: ODPS) -> None:
    odps_emulator.faults.fail(500, method="POST", kind="create", nth=2)

    odps_client.create_resource("one.txt", "file", fileobj=b"1")
    with pytest.raises(errors.InternalServerError) as caught:
        odps_client.create_resource("two.txt", "file", fileobj=b"2")
    odps_client.create_resource("three.txt", "file", fileobj=b"3")

    assert caught.value.status_code == 500
    assert [r.name for r in odps_client.list_resources()] == ["one.txt", "three.txt"]


def test_transient_503_on_get_is_retried_by_pyodps(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    odps_client.create_resource("flaky.txt", "file", fileobj=b"x")
    odps_client.exist_resource("flaky.txt")
    clean_run = odps_emulator.stats.count(kind="meta")
    odps_emulator.stats.reset()
    odps_emulator.faults.fail(503, kind="meta", times=1)

    assert odps_client.exist_resource("flaky.txt") is True
    assert odps_emulator.stats.count(kind="meta") == clean_run + 1


def test_persistent_503_surfaces_after_pyodps_retries(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    odps_emulator.faults.fail(503, kind="list", times=None)

    with pytest.raises(errors.ServiceUnavailable):
        list(odps_client.list_resources())
    assert odps_emulator.stats.count(kind="list") == 5  # 1 try + pyodps's 4 retries


def test_latency_delays_matching_requests_only(odps_emulator: Emulator, odps_client: ODPS) -> None:
    odps_emulator.faults.delay(0.3, kind="meta")

    started = time.monotonic()
    odps_client.exist_resource("anything")
    slow = time.monotonic() - started
    odps_client.create_resource("fast.txt", "file", fileobj=b"x")

    assert slow >= 0.3
    assert odps_emulator.faults.rules()[0]["fired"] == 1


def test_dropped_upload_raises_connection_error_and_stores_nothing(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    odps_emulator.faults.drop(kind="create", after_bytes=64 * 1024)

    with pytest.raises(requests.exceptions.ConnectionError):
        odps_client.create_resource("cut.bin", "file", fileobj=os.urandom(4 * 1024 * 1024))

    assert odps_client.exist_resource("cut.bin") is False
    assert list((odps_emulator.data_dir / "incoming").iterdir()) == []
    odps_client.create_resource("cut.bin", "file", fileobj=b"second try works")


def test_http_control_api_configures_faults_and_reports_stats(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    control = odps_emulator.control_url
    session = control_session(odps_emulator)
    added = session.post(
        f"{control}/faults",
        json={"action": "error", "status": 500, "method": "POST", "path": "/resources$"},
        timeout=60,
    )
    assert added.status_code == 201 and added.json()["faults"][0]["id"] == 1

    with pytest.raises(errors.InternalServerError):
        odps_client.create_resource("x.txt", "file", fileobj=b"x")
    odps_client.create_resource("y.txt", "file", fileobj=b"y")
    stats = session.get(f"{control}/stats", timeout=60).json()
    assert stats["requests"]["POST create"] == 2
    assert session.get(f"{control}/faults", timeout=60).json()["faults"][0]["fired"] == 1

    assert session.post(f"{control}/reset", json={"data": True}, timeout=60).status_code == 200
    assert session.get(f"{control}/stats", timeout=60).json()["total"] == 0
    assert session.get(f"{control}/faults", timeout=60).json()["faults"] == []
    assert odps_client.exist_resource("y.txt") is False


def test_control_api_rejects_unknown_fault_fields(odps_emulator: Emulator) -> None:
    response = control_session(odps_emulator).post(
        f"{odps_emulator.control_url}/faults", json={"action": "explode"}, timeout=60
    )

    assert response.status_code == 400
    assert "unknown fault action" in response.json()["error"]


def test_control_api_changes_list_page_size(odps_emulator: Emulator, odps_client: ODPS) -> None:
    for index in range(4):
        odps_client.create_resource(f"r{index}", "file", fileobj=b"x")

    response = control_session(odps_emulator).post(
        f"{odps_emulator.control_url}/config", json={"list_page_size": 1}, timeout=60
    )
    listed = [r.name for r in odps_client.list_resources()]

    assert response.json()["list_page_size"] == 1
    assert listed == ["r0", "r1", "r2", "r3"]
    assert odps_emulator.stats.count(kind="list") == 4


def test_dropped_get_is_retried_by_pyodps(odps_emulator: Emulator, odps_client: ODPS) -> None:
    odps_client.create_resource("d.txt", "file", fileobj=b"payload")
    odps_emulator.faults.drop(kind="read", times=1)

    with odps_client.open_resource("d.txt", mode="rb") as handle:
        assert handle.read() == b"payload"
    assert odps_emulator.faults.rules()[0]["fired"] == 1
