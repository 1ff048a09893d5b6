"""``envctl status``: what is deployed, and whether it matches git."""

from __future__ import annotations

import time
from typing import Optional

from envctl.cli.app import command, format_option, options, target_option
from envctl.cli.views import status as view
from envctl.deploy.desired import load_desired
from envctl.deploy.observe import observe
from envctl.deploy.status import status
from envctl.targets import open_target


@command("status")
def status_command(
    target: Optional[str] = target_option(),
    output_format: str = format_option("text", "json"),
) -> None:
    """Each environment's deployed version, size and age, and whether it matches git."""
    project = options.project()
    desired = load_desired(project)
    tgt = open_target(target, project)
    rows = status(desired.versions, observe(tgt))
    if output_format == "json":
        print(view.render_json(rows, tgt.url))
    else:
        print(view.render_text(rows, tgt.url, time.time()), end="")
