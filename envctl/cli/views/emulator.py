"""``envctl emulator``: the endpoint and the target to export, as text or one JSON line."""

from __future__ import annotations

import json
from typing import Mapping


def render_text(info: Mapping[str, str]) -> str:
    return (
        f"endpoint:  {info['endpoint']}\nexport ENVCTL_TARGET='{info['target']}'\n"
        f"control token: {info['control_token']}\n"
    )


def render_json(info: Mapping[str, str]) -> str:
    """One line, so a script can read it before the server blocks."""
    return json.dumps(dict(info), sort_keys=True) + "\n"
