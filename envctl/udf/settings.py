"""Where the runtime's defaults come from: keyword arguments first, then environment variables.

A UDF module is imported on a laptop, in a notebook and in a job driver alike, so every knob
is an environment variable with a safe default rather than a config file to ship around.
"""

from __future__ import annotations

import os

from envctl.durations import seconds_from_env
from envctl.spec.loader import DEFAULT_PLATFORM
from envctl.targets import TARGET_ENV_VAR

PYTHON_ENV_VAR = "ENVCTL_PYTHON"
PLATFORM_ENV_VAR = "ENVCTL_PLATFORM"
INDEX_URL_ENV_VAR = "ENVCTL_INDEX_URL"
EXTRA_INDEX_URLS_ENV_VAR = "ENVCTL_EXTRA_INDEX_URLS"
ADHOC_TTL_ENV_VAR = "ENVCTL_ADHOC_TTL"
DEFAULT_PYTHON = "3.11"
DEFAULT_ADHOC_TTL = 24 * 3600.0


def adhoc_ttl() -> float:
    """Lifetime of a temporary ad-hoc archive (``ENVCTL_ADHOC_TTL``, default one day)."""
    return seconds_from_env(ADHOC_TTL_ENV_VAR, DEFAULT_ADHOC_TTL)


def target_url(explicit: str | None = None) -> str | None:
    """``target=`` keyword, else ``ENVCTL_TARGET``, else None (the project's local store)."""
    return explicit or os.environ.get(TARGET_ENV_VAR) or None


def adhoc_python(explicit: str | None = None) -> str:
    """Target CPython for ad-hoc builds without a named environment (``ENVCTL_PYTHON``)."""
    return explicit or os.environ.get(PYTHON_ENV_VAR) or DEFAULT_PYTHON


def adhoc_platform(explicit: str | None = None) -> str:
    """Target platform tag for ad-hoc builds (``ENVCTL_PLATFORM``)."""
    return explicit or os.environ.get(PLATFORM_ENV_VAR) or DEFAULT_PLATFORM


def index_url() -> str | None:
    """Package index for ad-hoc builds without a named environment (``ENVCTL_INDEX_URL``)."""
    return os.environ.get(INDEX_URL_ENV_VAR) or None


def extra_index_urls() -> tuple[str, ...]:
    """Extra indexes for ad-hoc builds (``ENVCTL_EXTRA_INDEX_URLS``, whitespace-separated)."""
    return tuple(os.environ.get(EXTRA_INDEX_URLS_ENV_VAR, "").split())
