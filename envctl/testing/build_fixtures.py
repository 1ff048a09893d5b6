"""pytest fixtures for building environments offline (enable with
``pytest_plugins = ["envctl.testing.build_fixtures"]`` in the root ``tests/conftest.py``).

* ``local_index`` (session): a ``LocalIndex`` serving ``STANDARD_DISTS`` over HTTP on
  127.0.0.1 — use ``local_index.url`` as a spec's ``index_url``.
* ``envctl_cache`` (function): an empty ``Cache`` in a temp dir, also set as
  ``ENVCTL_CACHE_DIR`` so the CLI and ``Cache.default()`` use it.
* ``local_env`` (function): ``local_env("name", "3.11", "tinypure tinynative", **fields)``
  returns an ``Environment`` whose index is ``local_index``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from envctl import settings
from envctl.build.cache import Cache
from envctl.spec.loader import Environment
from envctl.spec.requirements import split_requirements
from envctl.testing.index import LocalIndex


@pytest.fixture(scope="session")
def local_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    with LocalIndex.create(tmp_path_factory.mktemp("index")) as index:
        yield index


@pytest.fixture
def envctl_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cache:
    root = tmp_path / "envctl-cache"
    monkeypatch.setenv(settings.CACHE_DIR.name, str(root))
    return Cache(root)


@pytest.fixture
def local_env(local_index: LocalIndex) -> Callable[..., Environment]:
    def make(name: str, python: str, requirements: str, **fields: Any) -> Environment:
        return Environment(
            name=name,
            python=python,
            requirements=tuple(split_requirements(requirements)),
            index_url=local_index.url,
            **fields,
        )

    return make
