"""Fixtures for hardening tests (defined in ``hardening_helpers``, a uniquely named module)."""

from hardening_helpers import (  # noqa: F401 - fixtures
    barrier,
    no_stray_processes,
    repo,
    target,
    templates,
)
