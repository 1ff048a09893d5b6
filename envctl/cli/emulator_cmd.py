"""``envctl emulator``: run the local MaxCompute resource API in the foreground."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Optional

import typer

from envctl import console
from envctl.cli.app import command, format_option, options
from envctl.cli.views import emulator as view
from envctl.errors import EnvctlError

if TYPE_CHECKING:
    from envctl.emulator import Emulator

DEFAULT_PORT = 8780


def _stop_on_signals() -> None:
    """Make SIGINT (Ctrl-C) and SIGTERM end with the same clean shutdown (KeyboardInterrupt).

    Why an explicit SIGINT handler: Python installs its own only when SIGINT is not ignored at
    start, and a process started in the background by a shell or a test runner inherits
    SIG_IGN for it, so Ctrl-C would otherwise never stop the emulator.
    """

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@command("emulator")
def emulator_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", metavar="ADDRESS", help="Interface to listen on."
    ),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", metavar="N", help="Port to listen on (0: any free port)."
    ),
    data: Optional[Path] = typer.Option(
        None,
        "--data",
        metavar="DIR",
        help="Data directory (default: <root>/.envctl/emulator); survives restarts.",
    ),
    max_resource_size_mb: int = typer.Option(
        2048,
        "--max-resource-size-mb",
        min=1,
        metavar="MIB",
        help="Reject single resources larger than this.",
    ),
    list_page_size: int = typer.Option(
        1000,
        "--list-page-size",
        min=1,
        max=1000,
        metavar="N",
        help="Resources per list page when a client sends no maxitems.",
    ),
    project: str = typer.Option(
        "envctl_test", "--project", metavar="NAME", help="Project name used in the printed target."
    ),
    output_format: str = format_option(
        "text", "json", help="text, or json: the endpoint and target as one line."
    ),
    as_json: bool = typer.Option(
        False, "--json", hidden=True, help="Same as --format json (kept for scripts)."
    ),
    verify_signatures: bool = typer.Option(
        False,
        "--verify-signatures",
        help="Strict mode: check every request's signature against the key pair in "
        "ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET (a wrong secret gets "
        "the service's 401 SignatureNotMatch).",
    ),
) -> None:
    """Serve a local MaxCompute resource API for pyodps until Ctrl-C.

    Like moto or LocalStack. Point pyodps at the printed endpoint with any access
    id/secret, or set the printed ENVCTL_TARGET. Fault injection and counters:
    /_emulator/faults, /_emulator/stats and /_emulator/reset on the same port, with the
    printed control token in the X-Envctl-Emulator-Token header (ENVCTL_EMULATOR_TOKEN
    fixes it).
    """
    from envctl.emulator import Emulator

    data_dir = data if data is not None else options.project().state_dir / "emulator"
    try:
        emulator = Emulator(
            data_dir,
            host=host,
            port=port,
            max_resource_size=max_resource_size_mb * 1024 * 1024,
            list_page_size=list_page_size,
        )
        if verify_signatures:
            emulator.signing_keys = _signing_keys()
        emulator.bind()
    except OSError as exc:
        reason = exc.strerror or exc
        raise EnvctlError(
            f"cannot serve the emulator on {host}:{port} with data in {data_dir}: {reason}"
        ) from None
    _stop_on_signals()  # before the endpoint is printed: a client may signal as soon as it reads it
    try:
        _announce(emulator, data_dir, project, as_json or output_format == "json")
        emulator.serve_forever()
    except KeyboardInterrupt:
        console.info("emulator stopped")


def _signing_keys() -> dict[str, str]:
    """``{access id: secret}`` for strict mode, from this process's environment only."""
    from envctl import settings

    access_id, secret = settings.ACCESS_KEY_ID.get(), settings.ACCESS_KEY_SECRET.get()
    if not access_id or not secret:
        raise EnvctlError(
            f"--verify-signatures checks requests against {settings.ACCESS_KEY_ID.name} and "
            f"{settings.ACCESS_KEY_SECRET.name}: set both in the emulator's environment"
        )
    return {access_id: secret}


def _announce(emulator: Emulator, data_dir: Path, project: str, as_json: bool) -> None:
    """Print where the emulator listens (one JSON line for ``--format json``); -v logging."""
    info = {
        "endpoint": emulator.endpoint,
        "target": emulator.target_url(project),
        "control": emulator.control_url,
        "control_token": emulator.control_token,
        "data_dir": str(data_dir),
    }
    if as_json:
        print(view.render_json(info), end="", flush=True)
    else:
        print(view.render_text(info), end="", flush=True)
        console.info(f"data in {data_dir}; control API at {emulator.control_url}; Ctrl-C to stop")
    if console.verbosity() >= 1:  # -v: one line per request on stderr
        request_log = logging.getLogger("envctl.emulator")
        request_log.setLevel(logging.DEBUG)
        request_log.addHandler(logging.StreamHandler())
