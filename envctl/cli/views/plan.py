"""Showing a Plan: rich text for terminals, markdown for PR comments, JSON for machines."""

from __future__ import annotations

import json
from typing import Optional

from envctl.console import print_lines, redact
from envctl.deploy.plan import Change, Plan

MARKER = "<!-- envctl-plan -->"
"""Hidden marker so CI can find and update one sticky PR comment instead of adding more."""
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "noop": " "}
STYLES = {"create": "green", "update": "yellow", "delete": "red", "noop": "dim"}
_LINE_STYLES = {"+": "green", "-": "red", "~": "yellow"}


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


def styled_lines(plan: Plan) -> list[tuple[str, Optional[str]]]:
    """Terraform-style ``(line, style)``: one per changed environment, reasons indented below."""
    out: list[tuple[str, Optional[str]]] = [(f"Target: {redact(plan.target)}", None)]
    for change in plan.changes:
        if change.action == "noop":
            continue
        current = (
            f" (now v{change.current_version}, python {change.python})"
            if change.current_version
            else ""
        )
        out.append(
            (
                f"{SYMBOLS[change.action]} {change.environment}: "
                f"{change.action}, {_what(change)}{current}",
                STYLES[change.action],
            )
        )
        out += [(f"    - {reason}", None) for reason in change.reasons]
        out += [(f"        {line}", _LINE_STYLES[line[0]]) for line in change.packages_diff]
    out += [(line, _LINE_STYLES[line[0]]) for line in plan.functions_diff]
    out.append((summary(plan), None))
    return out


def render_text(plan: Plan) -> str:
    """The plan as plain text (colours are added only on a terminal, by ``show``)."""
    return "".join(line + "\n" for line, _ in styled_lines(plan))


def render_markdown(plan: Plan) -> str:
    """A PR comment: summary, a table of changes, and details of every environment."""
    lines = [
        MARKER,
        "### envctl plan",
        "",
        f"Target: `{redact(plan.target)}`",
        "",
        f"**{summary(plan)}**",
        "",
    ]
    changed = [c for c in plan.changes if c.action != "noop"]
    if changed:
        lines += [
            "| | environment | action | current | python | reasons |",
            "|---|---|---|---|---|---|",
        ]
        for c in changed:
            current = f"v{c.current_version}" if c.current_version else "-"
            reasons = "; ".join(c.reasons).replace("|", "\\|")
            lines.append(
                f"| `{SYMBOLS[c.action]}` | `{c.environment}` | "
                f"{c.action} {_what(c)} | {current} | "
                f"{c.python or '-'} | {reasons} |"
            )
        lines.append("")
    owned = [c for c in changed if c.owners]
    if owned:
        lines += [
            "**Owners to review:** "
            + "; ".join(f"`{c.environment}`: {', '.join(c.owners)}" for c in owned),
            "",
        ]
    for c in changed:
        if c.packages_diff:
            lines += [
                f"<details><summary><code>{c.environment}</code>: package changes</summary>",
                "",
                "```diff",
            ]
            lines += [
                ("!" + line[1:]) if line.startswith("~") else line for line in c.packages_diff
            ]
            lines += ["```", "", "</details>", ""]
    if plan.functions_diff:
        lines += ["SQL functions:", "", "```diff"]
        lines += [("!" + x[1:]) if x.startswith("~") else x for x in plan.functions_diff]
        lines += ["```", ""]
    unchanged = [c.environment for c in plan.changes if c.action == "noop"]
    if unchanged:
        lines += [
            "<details><summary>Unchanged environments</summary>",
            "",
            ", ".join(f"`{n}`" for n in unchanged),
            "",
            "</details>",
            "",
        ]
    lines.append(f"<sub>fingerprint `{plan.fingerprint[:12]}` · envctl {plan.envctl_version}</sub>")
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return redact(json.dumps(plan.to_json(), indent=2, sort_keys=True))


def show(plan: Plan, output_format: str) -> None:
    """Print ``plan`` on stdout in ``text``, ``markdown`` or ``json``."""
    if output_format == "json":
        print(render_json(plan))
    elif output_format == "markdown":
        print(render_markdown(plan), end="")
    else:
        print_lines(styled_lines(plan))
