"""``envctl emulator``: the endpoint and the target to export, as text or one JSON line."""

from __future__ import annotations

import json
from typing import Mapping


def render_text(info: Mapping[str, str]) -> str:
    """The endpoint, the target to export and, when set, the control API's token."""
    text = f"endpoint:  {info['endpoint']}\nexport ENVCTL_TARGET='{info['target']}'\n"
    token = info.get("control_token")
    return text + (f"control token: {token}\n" if token else "")


def render_json(info: Mapping[str, str]) -> str:
    """One line, so a script can read it before the server blocks."""
    return json.dumps(dict(info), sort_keys=True) + "\n"
