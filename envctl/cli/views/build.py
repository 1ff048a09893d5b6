"""``envctl build``: where the archive is, its size and largest packages, or JSON."""

from __future__ import annotations

import json
from typing import Optional

from envctl.build.builder import BuiltArchive
from envctl.build.size import human, largest_summary
from envctl.console import redact
from envctl.deploy.stage import Staged


def render_text(name: str, built: BuiltArchive, staged: Optional[Staged] = None) -> str:
    origin = "cached" if built.cached else "built"
    unpacked = f" ({human(built.unpacked)} unpacked)" if built.unpacked else ""
    lines = [
        f"{name}: {origin} {built.path}",
        f"  size {human(built.size)}{unpacked}, sha256 {built.sha256}, "
        f"{len(built.packages)} packages",
    ]
    if built.largest:
        lines.append(f"  largest (unpacked): {largest_summary(built.largest)}")
    if staged is not None:
        how = "uploaded" if staged.uploaded_bytes else "already in the target:"
        lines.append(f"  {how} {staged.resource}")
    return "\n".join(lines) + "\n"


def render_json(name: str, built: BuiltArchive, staged: Optional[Staged] = None) -> str:
    uploaded = {"upload": vars(staged)} if staged is not None else {}
    data = {"environment": name, **built.to_json(), **uploaded}
    return redact(json.dumps(data, indent=2, sort_keys=True))
