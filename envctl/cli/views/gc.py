"""``envctl gc``: what was (or would be) deleted, each object once, in text or JSON."""

from __future__ import annotations

import json

from envctl.console import redact
from envctl.deploy.retention import GcResult


def render_text(result: GcResult) -> str:
    """One line per forgotten version (with its archive) and per other object; never twice."""
    verb = "Would delete" if result.dry_run else "Deleted"
    lines = []
    for env, versions in result.versions.items():
        for v in versions:
            shared = "" if v.resource in result.archives else ", archive shared with a kept version"
            lines.append(f"{verb} {env} {v.label} ({v.resource}{shared})")
    kinds = (
        (result.orphans, "orphaned archive"),
        (result.records, "build record of a lock no kept version uses"),
        (result.temporaries, "expired runtime resource"),
        (result.renewals, "renewal record of a broken lease"),
        (result.leftovers, "left by an interrupted upload"),
    )
    for names, why in kinds:
        lines += [f"{verb} {name} ({why})" for name in names]
    if not lines:
        lines.append("Nothing to collect.")
    return "\n".join(lines) + "\n"


def render_json(result: GcResult) -> str:
    """``objects`` lists every deleted object name; the kinds are also listed apart."""
    data = {
        "dry_run": result.dry_run,
        "versions": {env: [v.label for v in versions] for env, versions in result.versions.items()},
        "objects": list(result.objects),
        "archives": list(result.archives),
        "orphans": list(result.orphans),
        "records": list(result.records),
        "temporaries": list(result.temporaries),
        "renewals": list(result.renewals),
        "leftovers": list(result.leftovers),
    }
    return redact(json.dumps(data, indent=2, sort_keys=True))
