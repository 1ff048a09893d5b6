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
* ``resource_service`` - the resource API a ``contract`` test talks to: the in-process
  emulator, or, with ``ENVCTL_CONTRACT_ENDPOINT`` and ``ENVCTL_CONTRACT_PROJECT`` set, that
  external endpoint (credentials from the usual variables). Every name it hands out is
  prefixed and deleted after the test. With an external endpoint ``odps_emulator`` skips,
  so tests needing fault injection or emulator internals skip with the reason.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import pytest

from envctl import settings
from envctl.emulator.server import Emulator

if TYPE_CHECKING:
    import requests
    from odps import ODPS

    from envctl.targets.odps import OdpsTarget

TEST_PROJECT = "envctl_test"
# Dummy credentials: the emulator requires an Authorization header but never checks it.
TEST_ACCESS_ID = "envctl-test-ak"
TEST_SECRET = "envctl-test-sk"
SMALL_CHUNK = 64 * 1024
CONTRACT_ENDPOINT_VAR = settings.CONTRACT_ENDPOINT.name
CONTRACT_PROJECT_VAR = settings.CONTRACT_PROJECT.name


def make_odps_client(emulator: Emulator, project: str = TEST_PROJECT) -> ODPS:
    """A real pyodps client pointed at the emulator (does not touch pyodps's global options)."""
    from odps import ODPS

    return ODPS(
        TEST_ACCESS_ID,
        TEST_SECRET,
        project=project,
        endpoint=emulator.endpoint,
        overwrite_global=False,
    )


def control_session(emulator: Emulator) -> requests.Session:
    """HTTP access to the emulator's control API, authenticated with its per-run token."""
    import requests

    session = requests.Session()
    session.headers.update(emulator.control_headers())
    return session


def emulator_target_url(emulator: Emulator, project: str = TEST_PROJECT) -> str:
    """The ``odps://`` target envctl uses for ``--target`` / ``ENVCTL_TARGET``."""
    return emulator.target_url(project)


@dataclass
class ResourceService:
    """A MaxCompute resource API under test, and the names a test created on it."""

    client: ODPS
    project: str
    emulator: Optional[Emulator]
    prefix: str
    created: list[str] = field(default_factory=list)

    def name(self, suffix: str) -> str:
        """A prefixed resource name, deleted after the test whatever happens to it."""
        name = self.prefix + suffix
        self.created.append(name)
        return name

    def target(self, chunk_size: int = SMALL_CHUNK) -> OdpsTarget:
        """The odps target on this service (credentials from the environment, as always)."""
        from envctl.targets.odps import OdpsTarget

        endpoint = self.client.endpoint
        target = OdpsTarget(self.project, endpoint, chunk_size=chunk_size)
        target.retry_wait = 0.01
        return target

    def needs_emulator(self, why: str) -> Emulator:
        """The bundled emulator, or skip: ``why`` says what a live service cannot give."""
        if self.emulator is None:
            pytest.skip(f"needs the bundled emulator ({why}); {CONTRACT_ENDPOINT_VAR} is set")
        return self.emulator

    def cleanup(self) -> None:
        from odps import errors

        for name in self.created:
            with contextlib.suppress(errors.NoSuchObject):
                self.client.delete_resource(name)


def _external() -> Optional[tuple[str, str]]:
    endpoint = settings.CONTRACT_ENDPOINT.get()
    if not endpoint:
        return None
    project = settings.CONTRACT_PROJECT.get()
    if not project:
        raise pytest.UsageError(f"{CONTRACT_ENDPOINT_VAR} needs {CONTRACT_PROJECT_VAR} as well")
    return endpoint, project


@pytest.fixture
def resource_service(request: pytest.FixtureRequest) -> Iterator[ResourceService]:
    """The emulator, or the external endpoint of a contract run (see the module docstring).

    pyodps's own retries are off, as in the odps target, so each call is one request.
    """
    from odps import ODPS

    external = _external()
    if external is None:
        emulator: Optional[Emulator] = request.getfixturevalue("odps_emulator")
        assert emulator is not None
        endpoint, project = emulator.endpoint, TEST_PROJECT
        credentials = {"access_id": TEST_ACCESS_ID, "secret_access_key": TEST_SECRET}
        request.getfixturevalue("odps_credentials")  # the same pair for targets built here
    else:
        from envctl.targets.odps import credentials_from_env

        emulator, (endpoint, project) = None, external
        credentials = credentials_from_env()
    client = ODPS(
        project=project,
        endpoint=endpoint,
        overwrite_global=False,
        rest_client_kwargs={"retry_enabled": False},
        **credentials,
    )
    service = ResourceService(client, project, emulator, f"envctl_contract_{uuid.uuid4().hex[:8]}_")
    try:
        yield service
    finally:
        service.cleanup()


@pytest.fixture
def odps_emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator with an empty data directory, stopped after the test.

    Skips when ``ENVCTL_CONTRACT_ENDPOINT`` is set: the test needs emulator internals.
    """
    if _external() is not None:
        pytest.skip(
            f"needs the bundled emulator (fault injection or internals); "
            f"{CONTRACT_ENDPOINT_VAR} is set"
        )
    with Emulator(tmp_path / "odps-emulator") as emulator:
        yield emulator


@pytest.fixture
def odps_client(odps_emulator: Emulator) -> ODPS:
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
