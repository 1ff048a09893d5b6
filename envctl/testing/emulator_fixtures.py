"""pytest fixtures for testing against the MaxCompute emulator with the real pyodps client.

Enable with ``pytest_plugins = ["envctl.testing.emulator_fixtures"]`` in a ``conftest.py``.

* ``odps_emulator`` - a started :class:`~envctl.emulator.Emulator` on a fresh data dir.
* ``odps_client`` - an ``odps.ODPS`` for project ``envctl_test`` against that emulator.
* ``odps_credentials`` - the dummy access key pair in the environment, as envctl reads it.
* ``target_url`` - parametrised over both target kinds: a local store, and the emulator with
  small upload parts (so part uploads and merges are exercised with tiny archives).
* :func:`make_odps_client` / :func:`emulator_target_url` - the same for other projects,
  and the ``odps://<project>?endpoint=<url>`` target string envctl's ``--target`` takes.
* :func:`control_session` - a ``requests`` session for ``/_emulator/*`` carrying the run's
  control token (the control API refuses requests without it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from envctl.emulator.server import Emulator

if TYPE_CHECKING:
    import requests
    from odps import ODPS

TEST_PROJECT = "envctl_test"
# Dummy credentials: the emulator requires an Authorization header but never checks it.
TEST_ACCESS_ID = "envctl-test-ak"
TEST_SECRET = "envctl-test-sk"
SMALL_CHUNK = 64 * 1024


def make_odps_client(emulator: Emulator, project: str = TEST_PROJECT) -> "ODPS":
    """A real pyodps client pointed at the emulator (does not touch pyodps's global options)."""
    from odps import ODPS

    return ODPS(
        TEST_ACCESS_ID,
        TEST_SECRET,
        project=project,
        endpoint=emulator.endpoint,
        overwrite_global=False,
    )


def control_session(emulator: Emulator) -> "requests.Session":
    """HTTP access to the emulator's control API, authenticated with its per-run token."""
    import requests

    session = requests.Session()
    session.headers.update(emulator.control_headers())
    return session


def emulator_target_url(emulator: Emulator, project: str = TEST_PROJECT) -> str:
    """The ``odps://`` target envctl uses for ``--target`` / ``ENVCTL_TARGET``."""
    return emulator.target_url(project)


@pytest.fixture
def odps_emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator with an empty data directory, stopped after the test."""
    with Emulator(tmp_path / "odps-emulator") as emulator:
        yield emulator


@pytest.fixture
def odps_client(odps_emulator: Emulator) -> "ODPS":
    """``odps.ODPS`` for project ``envctl_test`` on ``odps_emulator``."""
    return make_odps_client(odps_emulator)


@pytest.fixture
def odps_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dummy access key pair in the variables the odps target reads."""
    from envctl import settings

    monkeypatch.setenv(settings.ACCESS_KEY_ID.name, TEST_ACCESS_ID)
    monkeypatch.setenv(settings.ACCESS_KEY_SECRET.name, TEST_SECRET)


@pytest.fixture(params=["local", "odps"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test runs against both target kinds; odps uses tiny parts to force part uploads."""
    if request.param == "local":
        return f"local://{tmp_path / 'store'}"
    emulator = request.getfixturevalue("odps_emulator")
    request.getfixturevalue("odps_credentials")
    return emulator_target_url(emulator) + f"&chunk_size={SMALL_CHUNK}"
