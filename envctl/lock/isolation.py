"""Environments for the pip/uv subprocesses envctl runs, isolated from the user's pip setup.

A developer's ``pip.conf``, ``PIP_FIND_LINKS``, ``PIP_CONSTRAINT`` or ``UV_INDEX_URL`` would
silently change what a lock contains, so the spec's index settings are the only ones used:
config files are disabled and ``PIP_*``/``UV_*`` variables dropped, except the few that only
affect *how* the network is reached (certificates, proxies, timeouts, cache location).
"""

from __future__ import annotations

import os
import shutil
from typing import Mapping, Optional

_KEEP = frozenset(
    {
        "PIP_CERT",
        "PIP_CLIENT_CERT",
        "PIP_PROXY",
        "PIP_TIMEOUT",
        "PIP_DEFAULT_TIMEOUT",
        "PIP_RETRIES",
        "PIP_CACHE_DIR",
        "PIP_NO_CACHE_DIR",
        "UV_CACHE_DIR",
        "UV_NO_CACHE",
        "UV_NATIVE_TLS",
        "UV_HTTP_TIMEOUT",
        "UV_CONCURRENT_DOWNLOADS",
        "UV_CONCURRENT_BUILDS",
    }
)


def isolated_env(base: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) safe to run pip or uv with."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(("PIP_", "UV_")) or key in _KEEP
    }
    env["PIP_CONFIG_FILE"] = os.devnull  # pip: load no configuration file at all
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def find_uv() -> Optional[str]:
    """The uv binary: the ``uv`` Python package's, else one on PATH; ``None`` without uv."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
