"""``envctl emulator`` runs in the foreground, serves pyodps, and stops cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

from odps import ODPS

from envctl.testing.emulator_fixtures import TEST_ACCESS_ID, TEST_SECRET
from envctl.testing.emulator_process import start_emulator_process, stop_emulator_process


def _start(data: Path, *extra: str, ignore_sigint: bool = False) -> subprocess.Popen[str]:
    def ignore() -> None:  # as in a background job: the child inherits SIG_IGN for SIGINT
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    preexec_fn = ignore if ignore_sigint else None
    return start_emulator_process(data, *extra, stderr=subprocess.PIPE, preexec_fn=preexec_fn)


def _ctrl_c(process: subprocess.Popen[str]) -> str:
    """SIGINT, then its stderr; fails (after killing it: never leaked) unless it exits in time."""
    _, stderr, exited = stop_emulator_process(process, signal.SIGINT)
    assert exited, f"the emulator ignored Ctrl-C and was killed: {stderr}"
    return stderr or ""


def test_cli_serves_pyodps_and_exits_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process = _start(tmp_path / "data", "--project", "cli_proj")
    try:
        info = json.loads(process.stdout.readline())
        client = ODPS(
            TEST_ACCESS_ID,
            TEST_SECRET,
            project="cli_proj",
            endpoint=info["endpoint"],
            overwrite_global=False,
        )
        client.create_resource("from_cli.txt", "file", fileobj=b"hi")
        assert client.exist_resource("from_cli.txt") is True
        assert info["target"] == f"odps://cli_proj?endpoint={info['endpoint']}"
    finally:
        stderr = _ctrl_c(process)

    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert list((tmp_path / "data" / "blobs").iterdir()), "content persisted in the data dir"


def test_ctrl_c_stops_the_emulator_even_when_started_with_sigint_ignored(tmp_path: Path) -> None:
    process = _start(tmp_path / "data", ignore_sigint=True)
    try:
        info = json.loads(process.stdout.readline())
        assert info["endpoint"].startswith("http://127.0.0.1:")
    finally:
        stderr = _ctrl_c(process)

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "emulator stopped" in stderr


def test_cli_reports_busy_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "envctl",
                "emulator",
                "--port",
                str(port),
                "--data",
                str(tmp_path),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode == 1
    assert result.stderr.startswith("envctl: error: cannot serve the emulator")
    assert len(result.stderr.strip().splitlines()) == 1
