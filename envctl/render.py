"""Showing a Plan: rich text for terminals, markdown for PR comments, JSON for machines."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from envctl.console import redact
from envctl.plan import Change, Plan

MARKER = "<!-- envctl-plan -->"
"""Hidden marker so CI can find and update one sticky PR comment instead of adding more."""
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "noop": " "}
STYLES = {"create": "green", "update": "yellow", "delete": "red", "noop": "dim"}


def _what(change: Change) -> str:
    if change.action == "create":
        return f"reuse v{change.reuse_version}" if change.reuse_version else "build + upload"
    if change.action == "update":
        return f"re-point to v{change.reuse_version}" if change.reuse_version else "build + upload"
    if change.action == "delete":
        return "remove pointer + archives"
    return ""


def summary(plan: Plan) -> str:
    counts = plan.counts()
    if not plan.has_changes:
        return f"No changes. {counts['noop']} environment(s) up to date."
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['noop']} unchanged."
    )


def render_text(plan: Plan, console: Console) -> None:
    """A table of changed environments and the reasons; unchanged ones only when nothing changed."""
    console.print(f"Target: {redact(plan.target)}", markup=False)
    changed = [c for c in plan.changes if c.action != "noop"]
    if changed:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for column in ("", "environment", "action", "current", "python", "reasons"):
            table.add_column(column)
        for change in changed:
            style = STYLES[change.action]
            table.add_row(
                f"[{style}]{SYMBOLS[change.action]}[/{style}]",
                change.environment,
                f"[{style}]{change.action}[/{style}] {_what(change)}".rstrip(),
                f"v{change.current_version}" if change.current_version else "-",
                change.python or "-",
                "; ".join(change.reasons),
            )
        console.print(table)
    console.print(summary(plan), markup=False)


def render_markdown(plan: Plan) -> str:
    """A PR comment: summary, a table of changes, and details of every environment."""
    lines = [MARKER, "### envctl plan", "", f"Target: `{redact(plan.target)}`", "", f"**{summary(plan)}**", ""]
    changed = [c for c in plan.changes if c.action != "noop"]
    if changed:
        lines += ["| | environment | action | current | python | reasons |", "|---|---|---|---|---|---|"]
        for c in changed:
            current = f"v{c.current_version}" if c.current_version else "-"
            reasons = "; ".join(c.reasons).replace("|", "\\|")
            lines.append(
                f"| `{SYMBOLS[c.action]}` | `{c.environment}` | {c.action} {_what(c)} | {current} | "
                f"{c.python or '-'} | {reasons} |"
            )
        lines.append("")
    unchanged = [c.environment for c in plan.changes if c.action == "noop"]
    if unchanged:
        lines += ["<details><summary>Unchanged environments</summary>", "", ", ".join(f"`{n}`" for n in unchanged), "", "</details>", ""]
    lines.append(f"<sub>fingerprint `{plan.fingerprint[:12]}` · envctl {plan.envctl_version}</sub>")
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return redact(json.dumps(plan.to_json(), indent=2, sort_keys=True))
