"""The folder layout is the pipeline: no module imports a later stage (see docs/design.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import envctl

PACKAGE = Path(envctl.__file__).parent

# Lower rank = earlier in the pipeline. A module may import its own package or a lower rank.
RANK = {
    "": 0,  # shared plumbing: errors, console, progress, crashpoints, ...
    "spec": 1,
    "lock": 2,
    "targets": 2,  # storage: knows projects (spec) but nothing of locks, builds or deployments
    "build": 3,
    "deploy": 4,
    "emulator": 4,  # a separate program; must not reach into build or deploy (checked below)
    "udf": 5,
    "cli": 6,
    "testing": 7,
}
FORBIDDEN = {
    "targets": {"lock", "build", "deploy", "udf", "cli", "emulator"},
    "emulator": {"spec", "lock", "build", "deploy", "udf", "cli", "targets"},
}


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in RANK:
        return parts[1]
    return (
        parts[1] if len(parts) == 2 and parts[1] in RANK and (PACKAGE / parts[1]).is_dir() else ""
    )


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("envctl."):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("envctl.")]
    return found


def _violations() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py":  # the entry point sits above everything
            continue
        module = "envctl." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = _stage(
            module if not module.endswith(".__init__") else module[: -len(".__init__")] + ".x"
        )
        for imported in _imports(path):
            other = _stage(imported)
            if other == own:
                continue
            if RANK[other] > RANK[own] or other in FORBIDDEN.get(own, set()):
                bad.append(
                    f"{module} ({own or 'plumbing'}) imports {imported} ({other or 'plumbing'})"
                )
    return bad


def test_no_module_imports_a_later_stage() -> None:
    assert _violations() == []


def test_the_top_level_keeps_only_shared_plumbing() -> None:
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(modules) <= 8, modules
