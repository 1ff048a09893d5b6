"""How a re-lock moved packages: one line per added, removed or moved package."""

from __future__ import annotations

from typing import Any, Mapping


def change_line(change: Mapping[str, Any]) -> str:
    """``+ name 1.0``, ``- name 1.0`` or ``~ name 1.0 -> 2.0`` for a ``changes`` row."""
    before, after = change.get("before"), change.get("after")
    if before is None:
        return f"+ {change['name']} {after}"
    if after is None:
        return f"- {change['name']} {before}"
    return f"~ {change['name']} {before} -> {after}"
