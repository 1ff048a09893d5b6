"""Fixtures for hardening tests (defined in ``helpers``, a uniquely named module)."""

from tests.hardening.helpers import (  # noqa: F401 - fixtures
    barrier,
    no_stray_processes,
    repo,
    target,
    templates,
)
