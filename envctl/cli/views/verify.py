"""``envctl verify``: one line per module and a summary that counts skips apart, or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from envctl.build.verify import VerifyResult
from envctl.console import redact

EXCLUDED_NOTE = " (excluded; provided by the cluster)"


def module_lines(result: VerifyResult) -> str:
    """``ok  / skip / FAIL module (distribution)[: error]`` per module (stdout)."""
    lines = []
    for r in result.results:
        status = "ok  " if r.ok else "skip" if r.skipped else "FAIL"
        detail = "" if r.ok else f": {r.error}" + (EXCLUDED_NOTE if r.skipped else "")
        lines.append(f"{status} {r.module} ({r.distribution}){detail}")
    return "".join(line + "\n" for line in lines)


def summary(result: VerifyResult) -> str:
    """``10 modules import, 1 skipped (excluded), 2 failed in /usr/bin/python3.11``."""
    skipped = sum(1 for r in result.results if r.skipped)
    failed = len(result.failures)
    imported = len(result.results) - skipped - failed
    parts = [f"{imported} module{'s' if imported != 1 else ''} import"]
    if skipped:
        parts.append(f"{skipped} skipped (excluded)")
    if failed:
        parts.append(f"{failed} failed")
    return ", ".join(parts) + f" in {result.interpreter}"


def render_json(name: str, result: VerifyResult, archive: Path) -> str:
    data = {
        "environment": name,
        "verified": result.ok,
        "interpreter": str(result.interpreter),
        "archive": str(archive),
        "modules": [r.__dict__ for r in result.results],
        "counts": {
            "imported": sum(1 for r in result.results if r.ok),
            "skipped": sum(1 for r in result.results if r.skipped),
            "failed": len(result.failures),
        },
    }
    return redact(json.dumps(data, indent=2, sort_keys=True))


def render_no_interpreter_json(name: str, message: str) -> str:
    return redact(
        json.dumps(
            {"environment": name, "verified": False, "reason": message, "modules": []},
            indent=2,
            sort_keys=True,
        )
    )
