"""``30s`` / ``5m`` / ``2h`` / ``7d`` option values, as seconds."""

from __future__ import annotations

import os
import re

from envctl.errors import EnvctlError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str, option: str) -> float:
    """Seconds for ``text``; a bare number means seconds. Errors name the option."""
    match = _PATTERN.match(text)
    if not match:
        raise EnvctlError(f"{option} {text!r} is not a duration such as 0s, 90s, 5m, 2h or 7d")
    return float(match[1]) * _UNITS[match[2] or "s"]


def seconds_from_env(var: str, default: float) -> float:
    """Seconds from environment variable ``var`` (``90``, ``5m``, ``2h``, ``1d``), else ``default``."""
    raw = os.environ.get(var, "").strip()
    return parse_duration(raw, var) if raw else default
