"""SQL functions bound to environments (``functions:`` in a spec).

MaxCompute SQL users register ``CREATE FUNCTION f AS 'mod.Class' USING 'mod.py,archive'``.
envctl's archive names change on every apply, so apply keeps each declared function pointing
at its code files plus its environment's *current* archive:

* code files are uploaded as content-addressed ``py`` resources named
  ``<module>__envctl_<sha12>.py`` (a ``py`` resource is imported by its name, so the name
  stays a module name and the function's class becomes ``<module>__envctl_<sha12>.Class``);
* a function is created or updated when its class or resources differ (``plan`` shows
  ``~ function segment_text: envctl-nlp-ab12….tar.gz -> envctl-nlp-cd34….tar.gz``);
* ``rollback`` re-points them with the environment; ``--prune`` drops functions that
  reference an envctl archive but are no longer declared; ``gc`` never deletes a resource a
  function references.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Sequence

from envctl.deploy.plan import Change, Plan
from envctl.deploy.state import State, parse_archive_name
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest
from envctl.spec.loader import Environment, SqlFunction
from envctl.targets.base import FunctionInfo, Target, TargetError

CODE_INFIX = "__envctl_"
NEW_BUILD = "(the new build)"


@dataclass(frozen=True)
class CodeFile:
    """One code file of a function, and the content-addressed resource it becomes."""

    path: Path
    resource: str
    md5: str

    @property
    def module(self) -> str:
        return self.resource[: -len(".py")]


def code_file(root: Path, relative: str, owner: Environment) -> CodeFile:
    """The code file ``relative`` (from the repository root) of a function of ``owner``."""
    path = root / relative
    if not path.is_file():
        raise EnvctlError(f"{owner.path or owner.name}: function code {relative!r} does not exist")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return CodeFile(path, f"{path.stem}{CODE_INFIX}{sha[:12]}.py", file_hexdigest(path, "md5"))


def desired_function(
    root: Path, env: Environment, function: SqlFunction, archive: str
) -> tuple[FunctionInfo, list[CodeFile]]:
    """What ``function`` must be registered as when ``env`` runs ``archive``."""
    codes = [code_file(root, c, env) for c in function.code]
    module, _, klass = function.class_name.rpartition(".")
    owner = next((c for c in codes if c.path.stem == module), None)
    if owner is None:
        raise EnvctlError(
            f"{env.path or env.name}: function {function.name}: module {module!r} of its class is "
            f"none of its code files ({', '.join(function.code)})"
        )
    resources = (*(c.resource for c in codes), archive)
    return FunctionInfo(function.name, f"{owner.module}.{klass}", resources), codes


def _archive(info: Optional[FunctionInfo]) -> str:
    archives = [r for r in (info.resources if info else ()) if parse_archive_name(r)]
    return archives[-1] if archives else "-"


def describe(name: str, before: Optional[FunctionInfo], after: Optional[FunctionInfo]) -> str:
    """``+ function f: archive``, ``- function f`` or ``~ function f: old -> new``."""
    if before is None:
        return f"+ function {name}: {_archive(after)}"
    if after is None:
        return f"- function {name}"
    if _archive(before) != _archive(after):
        return f"~ function {name}: {_archive(before)} -> {_archive(after)}"
    return f"~ function {name}: code or class changed"


def managed(info: FunctionInfo) -> bool:
    """Registered by envctl: it references an envctl archive."""
    return any(parse_archive_name(r) for r in info.resources)


def registered(target: Target) -> Optional[dict[str, FunctionInfo]]:
    """The target's functions, or None when it cannot hold any."""
    try:
        return target.list_functions()
    except TargetError:
        return None


def plan_lines(
    root: Path,
    environments: Mapping[str, Environment],
    changes: tuple[Change, ...],
    state: State,
    observed: Mapping[str, FunctionInfo],
    *,
    prune: bool = True,
) -> list[str]:
    """What apply will do to functions, given the environment ``changes`` it makes first."""
    by_env = {c.environment: c for c in changes}
    lines, declared = [], set()
    for name, env in sorted(environments.items()):
        change = by_env.get(name)
        for function in env.functions:
            declared.add(function.name)
            archive = _archive_after(name, change, state)
            info, _ = desired_function(root, env, function, archive or NEW_BUILD)
            before = observed.get(function.name)
            if archive is None:  # built by this apply: its name is not known yet
                old = f"{_archive(before)} -> " if before else ""
                lines.append(f"{'~' if before else '+'} function {function.name}: {old}{NEW_BUILD}")
            elif before != info:
                lines.append(describe(function.name, before, info))
    if prune:
        lines += [
            f"- function {n} (pruned with --prune)"
            for n, i in sorted(observed.items())
            if n not in declared and managed(i)
        ]
    return lines


def _archive_after(name: str, change: Optional[Change], state: State) -> Optional[str]:
    """The archive ``name`` runs after the apply, or None when the apply builds a new one."""
    history = state.env(name)
    if change is None or change.action == "noop":
        current = history.current_version
        return current.resource if current else None
    if change.reuse_version is not None:
        version = history.version(change.reuse_version)
        return version.resource if version else None
    return None


def reconcile(
    target: Target,
    root: Path,
    environments: Mapping[str, Environment],
    state: State,
    *,
    only: Optional[set[str]] = None,
    prune: bool = False,
) -> list[str]:
    """Make every declared function point at its code and its environment's current archive.

    Returns what changed (``describe`` lines). Code files are uploaded first (content
    addressed: an existing one is left alone), so a function never references a missing one.
    """
    wanted = [
        (n, e)
        for n, e in sorted(environments.items())
        if e.functions and (only is None or n in only)
    ]
    if not wanted and not prune:
        return []
    observed = registered(target)
    if observed is None:
        if wanted:
            raise EnvctlError(
                f"{target.url} cannot register SQL functions (functions: in {wanted[0][0]})"
            )
        return []
    done, declared = [], {f.name for e in environments.values() for f in e.functions}
    for name, env in wanted:
        current = state.env(name).current_version
        if current is None:
            continue
        for function in env.functions:
            info, codes = desired_function(root, env, function, current.resource)
            before = observed.get(function.name)
            if before == info:
                continue
            for code in codes:
                if target.stat(code.resource) is None:
                    target.put_file(code.resource, code.path, md5=code.md5, kind="py")
            target.put_function(info)
            done.append(describe(function.name, before, info))
    if prune:
        for fname, info in sorted(observed.items()):
            if fname not in declared and managed(info):
                target.delete_function(fname)
                done.append(describe(fname, info, None))
    return done


def referenced(target: Target) -> frozenset[str]:
    """Every resource a registered function references (``gc`` keeps them)."""
    functions = registered(target) or {}
    return frozenset(r for info in functions.values() for r in info.resources)


def with_functions(
    plan: Plan,
    target: Target,
    root: Path,
    environments: Mapping[str, Environment],
    state: State,
    only: Sequence[str] = (),
) -> Plan:
    """``plan`` with the function changes apply will make (none when the target has none)."""
    observed = registered(target)
    if observed is None:
        return plan
    chosen = {n: e for n, e in environments.items() if not only or n in only}
    lines = plan_lines(root, chosen, plan.changes, state, observed, prune=not only)
    return replace(plan, functions_diff=tuple(lines))
