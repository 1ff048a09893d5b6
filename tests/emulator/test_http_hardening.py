"""Emulator hardening (issue 14, F3 and F8): control token, Host check, hostile HTTP framing,
slow and surplus connections, long and non-ASCII names. Each test failed before the fix."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests
from odps import ODPS

from envctl.emulator import TOKEN_HEADER, Emulator
from envctl.testing.emulator_fixtures import control_session, make_odps_client
from envctl.testing.emulator_process import start_emulator_process
from tests.hardening.helpers import wait_for

AUTH = {"Authorization": "ODPS ak:sig"}
DEADLINE = 120.0


def _raw(emulator: Emulator, head: str, body: bytes = b"") -> bytes:
    """Send raw bytes and read the whole answer (the server closes these connections)."""
    with socket.create_connection((emulator.host, emulator.port), timeout=DEADLINE) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode("latin-1") + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _upload_head(emulator: Emulator, framing: str, name: str = "x.bin") -> str:
    return (
        f"POST /api/projects/p/resources HTTP/1.1\nHost: {emulator.host}:{emulator.port}\n"
        f"Authorization: ODPS ak:sig\nx-odps-resource-name: {name}\n"
        f"x-odps-resource-type: file\n{framing}\nConnection: close\n\n"
    )


# -- F3: the control API ------------------------------------------------------------------
def test_control_api_needs_the_run_token(odps_emulator: Emulator, odps_client: ODPS) -> None:
    odps_client.create_resource("kept.txt", "file", fileobj=b"x")
    url = f"{odps_emulator.control_url}/reset"

    assert requests.post(url, json={"data": True}, timeout=60).status_code == 403
    wrong = {TOKEN_HEADER: "guess"}
    assert requests.post(url, json={"data": True}, headers=wrong, timeout=60).status_code == 403
    assert odps_client.exist_resource("kept.txt")
    assert control_session(odps_emulator).get(f"{odps_emulator.control_url}/stats").ok


def test_control_api_refuses_non_json_even_with_the_token(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    odps_client.create_resource("kept.txt", "file", fileobj=b"x")
    headers = {**odps_emulator.control_headers(), "Content-Type": "text/plain"}

    response = requests.post(
        f"{odps_emulator.control_url}/reset", data='{"data":true}', headers=headers, timeout=60
    )

    assert response.status_code == 415
    assert odps_client.exist_resource("kept.txt")


@pytest.mark.parametrize("path", ["/_emulator/stats", "/api/projects/p/resources"])
def test_a_foreign_host_header_is_refused_everywhere(odps_emulator: Emulator, path: str) -> None:
    headers = {
        **AUTH,
        **odps_emulator.control_headers(),
        "Host": f"evil.example:{odps_emulator.port}",
    }

    response = requests.get(odps_emulator.base_url + path, headers=headers, timeout=60)

    assert response.status_code == 400 and "Host" in response.text


def test_loopback_spellings_of_the_bound_address_are_accepted(odps_emulator: Emulator) -> None:
    for host in ("localhost", "127.0.0.1"):
        headers = {**AUTH, "Host": f"{host}:{odps_emulator.port}"}
        url = f"{odps_emulator.endpoint}/projects/p/resources"
        assert requests.get(url, headers=headers, timeout=60).status_code == 200


def test_the_token_is_printed_by_the_cli_and_fixed_by_the_variable(tmp_path: Path) -> None:
    import json
    import os

    env = {**os.environ, "ENVCTL_EMULATOR_TOKEN": "fixed-token-for-test"}
    process = start_emulator_process(tmp_path, env=env)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["control_token"] == "fixed-token-for-test"
        stats = requests.get(
            f"{info['control']}/stats", timeout=30, headers={TOKEN_HEADER: info["control_token"]}
        )
        assert stats.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- F8: HTTP robustness -----------------------------------------------------------------
@pytest.mark.parametrize(
    "framing",
    ["Content-Length: abc", "Content-Length: -5", "Content-Length: 1\nContent-Length: 2"],
)
def test_bad_content_length_is_400_not_a_traceback(
    odps_emulator: Emulator, framing: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = _raw(odps_emulator, _upload_head(odps_emulator, framing))

    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert "Traceback" not in caplog.text and "emulator failed" not in caplog.text


@pytest.mark.parametrize("size", ["zz", "-5", "1" * 20])
def test_bad_chunk_sizes_are_400(odps_emulator: Emulator, size: str) -> None:
    head = _upload_head(odps_emulator, "Transfer-Encoding: chunked")

    answer = _raw(odps_emulator, head, f"{size}\r\nabc\r\n0\r\n\r\n".encode())

    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert list((odps_emulator.data_dir / "incoming").iterdir()) == []


def test_a_declared_length_over_the_limit_is_answered_before_the_body(
    odps_emulator: Emulator,
) -> None:
    odps_emulator.configure(max_resource_size=1024)

    # Only the headers are sent: the answer must not wait for the 1 GiB body.
    answer = _raw(odps_emulator, _upload_head(odps_emulator, f"Content-Length: {1 << 30}"))

    assert answer.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in answer
    assert b"ODPS-0420061" in answer


def test_a_slow_body_is_cut_off_by_the_socket_timeout(tmp_path: Path) -> None:
    with Emulator(tmp_path / "data", request_timeout=0.2) as emulator:
        head = _upload_head(emulator, "Content-Length: 100")
        with socket.create_connection((emulator.host, emulator.port), timeout=DEADLINE) as sock:
            try:
                sock.sendall(head.replace("\n", "\r\n").encode() + b"only ten b")
                closed = sock.recv(1024) == b""
            except (ConnectionResetError, BrokenPipeError):  # closed before all was sent
                closed = True
            assert closed, "the server closes the stalled connection"
        wait_for(lambda: emulator.active_connections == 0, "no open connection")
        assert list((emulator.data_dir / "incoming").iterdir()) == []


def test_connections_over_the_cap_are_refused_at_once(tmp_path: Path) -> None:
    with Emulator(tmp_path / "data", max_connections=1) as emulator:
        holder = socket.create_connection((emulator.host, emulator.port), timeout=DEADLINE)
        try:
            holder.sendall(b"GET /api/tenants HTTP/1.1\r\n")  # an unfinished request
            wait_for(lambda: emulator.active_connections == 1, "one open connection")
            answer = _raw(emulator, "GET /api/tenants HTTP/1.1\nHost: x\n\n")
            assert answer.startswith(b"HTTP/1.1 503 ")
        finally:
            holder.close()
        wait_for(lambda: emulator.active_connections == 0, "no open connection")
        client = make_odps_client(emulator)
        client.create_resource("after.txt", "file", fileobj=b"x")


def test_a_name_over_255_bytes_is_refused_before_spooling(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    name = "a" * 120 + "é" * 70  # 260 UTF-8 bytes
    headers = {**AUTH, "x-odps-resource-type": "file", "x-odps-resource-name": name.encode()}

    response = requests.post(
        f"{odps_emulator.endpoint}/projects/p/resources",
        data=b"x" * 1000,
        headers=headers,
        timeout=60,
    )

    assert response.status_code == 400 and "255 bytes" in response.text
    assert list((odps_emulator.data_dir / "blobs").iterdir()) == []


def test_orphan_blobs_are_swept_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Emulator(data) as emulator:
        make_odps_client(emulator).create_resource("kept.txt", "file", fileobj=b"kept")
    kept = sorted(p.name for p in (data / "blobs").iterdir())
    (data / "blobs" / "0123456789abcdef").write_bytes(b"adopted, never published")

    with Emulator(data) as emulator:
        assert sorted(p.name for p in (data / "blobs").iterdir()) == kept
        with make_odps_client(emulator).open_resource("kept.txt", mode="rb") as handle:
            assert handle.read() == b"kept"


def test_non_ascii_names_are_utf8_and_invalid_utf8_is_refused(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    name = "数据-é.txt"
    url = f"{odps_emulator.endpoint}/projects/envctl_test/resources"
    headers = {**AUTH, "x-odps-resource-type": "file"}

    created = requests.post(
        url, data=b"x", timeout=60, headers={**headers, "x-odps-resource-name": name.encode()}
    )
    refused = requests.post(
        url, data=b"x", timeout=60, headers={**headers, "x-odps-resource-name": b"bad-\xff.txt"}
    )

    assert created.status_code == 201 and refused.status_code == 400
    assert [r.name for r in odps_client.list_resources()] == [name]
    resource = odps_client.get_resource(name)
    resource.reload()
    assert resource.size == 1
