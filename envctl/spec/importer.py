"""``envctl init NAME --from FILE``: a spec from a requirements file or a ``pyproject.toml``.

Requirements files are read as pip reads them, for the parts a spec can express: one
requirement per line (comments, blank lines and ``\\`` continuations allowed), ``-r``/
``--requirement`` includes (relative to the including file), ``-i``/``--index-url``,
``--extra-index-url``, ``--pre``, ``--prefer-binary`` and ``--only-binary :all:``. Per-line
``--hash`` options are dropped (the lock records hashes). What a spec cannot express (editable
or local paths, ``--find-links``, ``--no-index``, constraints files) is an error naming the
file and line, so nothing is silently lost. From ``pyproject.toml``, ``[project]
dependencies`` are taken.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from envctl.errors import EnvctlError
from envctl.spec.indexes import strip_auth

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

_FLAGS = {"--pre": "pre_release", "--prefer-binary": "prefer_binary"}
_UNSUPPORTED = {
    "-e": "editable installs cannot be packed; build a wheel and publish it to an index",
    "--editable": "editable installs cannot be packed; build a wheel and publish it to an index",
    "-f": "--find-links is not supported; serve the files from an index (index_url)",
    "--find-links": "--find-links is not supported; serve the files from an index (index_url)",
    "--no-index": "--no-index is not supported; a spec always names its index",
    "-c": "constraints files are not supported; pin the versions in the requirements",
    "--constraint": "constraints files are not supported; pin the versions in the requirements",
}
_IGNORED = ("--trusted-host", "--use-feature", "--no-binary", "--require-hashes")


@dataclass
class Imported:
    """What a requirements file or pyproject says, in spec terms."""

    requirements: list[str] = field(default_factory=list)
    index_url: Optional[str] = None
    extra_index_urls: list[str] = field(default_factory=list)
    pre_release: bool = False
    prefer_binary: bool = False
    allow_sdist: bool = True
    warnings: list[str] = field(default_factory=list)


def _logical_lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) with comments removed and ``\\`` continuations joined."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvctlError(f"cannot read {path}: {exc}") from None
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, line in enumerate(raw, 1):
        if not pending:
            start = number
        text = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        if text.rstrip().endswith("\\"):
            pending += text.rstrip()[:-1] + " "
            continue
        text = (pending + text).strip()
        pending = ""
        if text:
            lines.append((start, text))
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _index_url(value: str, where: str) -> str:
    if strip_auth(value) != value and "${" not in value:
        raise EnvctlError(
            f"{where}: the index URL holds credentials; write them as ${{VARIABLES}} "
            "(https://${USER}:${TOKEN}@host/simple) so they stay out of git"
        )
    return value


def read_requirements(
    path: Path, result: Optional[Imported] = None, seen: Optional[set[Path]] = None
) -> Imported:
    """Everything ``path`` (and the files it includes) says, or an error at ``path:line``."""
    result = result if result is not None else Imported()
    seen = seen if seen is not None else set()
    resolved = path.resolve()
    if resolved in seen:
        return result
    seen.add(resolved)
    for number, text in _logical_lines(path):
        where = f"{path}:{number}"
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise EnvctlError(f"{where}: {exc}") from None
        head = words[0]
        option, _, inline = head.partition("=")
        value = inline or (words[1] if len(words) > 1 else "")
        if option in ("-r", "--requirement"):
            read_requirements(path.parent / value, result, seen)
        elif head.startswith("-r") and not head.startswith("--"):  # -rother.txt
            read_requirements(path.parent / head[2:], result, seen)
        elif option in ("-i", "--index-url"):
            result.index_url = _index_url(value, where)
        elif option == "--extra-index-url":
            url = _index_url(value, where)
            if url not in result.extra_index_urls:
                result.extra_index_urls.append(url)
        elif option in _FLAGS:
            setattr(result, _FLAGS[option], True)
        elif option == "--only-binary":
            if value == ":all:":
                result.allow_sdist = False
            else:
                result.warnings.append(
                    f"{where}: --only-binary {value} ignored (only :all: maps to a spec)"
                )
        elif option in _UNSUPPORTED:
            raise EnvctlError(f"{where}: {_UNSUPPORTED[option]}")
        elif option in _IGNORED:
            result.warnings.append(f"{where}: {option} ignored")
        elif head.startswith("-"):
            raise EnvctlError(f"{where}: unsupported option {option!r}")
        else:
            result.requirements.append(_requirement(text, where))
    return result


def _requirement(text: str, where: str) -> str:
    """The requirement part of a line (per-requirement ``--hash`` options dropped)."""
    requirement = text.split(" --", 1)[0].strip()
    if requirement.startswith((".", "/")) or requirement.endswith((".whl", ".tar.gz", ".zip")):
        raise EnvctlError(
            f"{where}: local paths cannot be packed; publish {requirement} to an index"
        )
    try:
        Requirement(requirement)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise EnvctlError(f"{where}: invalid requirement {requirement!r}: {reason}") from None
    return requirement


def read_pyproject(path: Path) -> Imported:
    """``[project] dependencies`` of a ``pyproject.toml``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EnvctlError(f"cannot read {path}: {exc}") from None
    project = data.get("project")
    dependencies = project.get("dependencies") if isinstance(project, dict) else None
    if not isinstance(dependencies, list):
        raise EnvctlError(f"{path}: no [project] dependencies to import")
    result = Imported()
    for number, text in enumerate(dependencies, 1):
        result.requirements.append(_requirement(str(text), f"{path}: dependencies[{number}]"))
    return result


def read_source(path: Path) -> Imported:
    """A ``pyproject.toml`` by name, anything else as a requirements file."""
    if not path.is_file():
        raise EnvctlError(f"{path} does not exist")
    return read_pyproject(path) if path.name == "pyproject.toml" else read_requirements(path)


def spec_text(
    name: str, python: str, platform: Optional[str], imported: Imported, source: str
) -> str:
    """The YAML of the new spec: only keys that differ from the defaults, a header naming
    where it came from."""
    data: dict[str, Any] = {"name": name, "python": python}
    if platform:
        data["platform"] = platform
    if imported.index_url:
        data["index_url"] = imported.index_url
    if imported.extra_index_urls:
        data["extra_index_urls"] = imported.extra_index_urls
    for key in ("pre_release", "prefer_binary"):
        if getattr(imported, key):
            data[key] = True
    if not imported.allow_sdist:
        data["allow_sdist"] = False
    data["requirements"] = imported.requirements
    header = f"# Imported from {source} by 'envctl init'; next: envctl lock {name}\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
