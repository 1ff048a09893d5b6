"""Named targets: the ``[targets.<name>]`` tables of ``envctl.toml`` at the repository root.

Teams deploy the same environments to several MaxCompute projects (dev, staging, prod), as
Terraform workspaces or Databricks Asset Bundle targets do. The project file names them once::

    [targets.dev]
    url = "odps://nlp_dev?endpoint=https://service.cn-shanghai.maxcompute.aliyun.com/api"
    default = true

    [targets.prod]
    url = "odps://nlp_prod?endpoint=https://service.cn-shanghai.maxcompute.aliyun.com/api"
    access_key_id_var = "PROD_ACCESS_KEY_ID"
    access_key_secret_var = "PROD_ACCESS_KEY_SECRET"

``--target`` / ``ENVCTL_TARGET`` then take a name or a URL. A target may name the variables
its credentials come from (the file holds variable *names*, never values), so one CI job can
hold dev and prod keys apart. The file is validated like specs: every problem is
``path:line:col: message``, unknown keys and names get a did-you-mean.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from envctl import settings
from envctl.errors import EnvctlError
from envctl.settings import Setting
from envctl.spec.loader import Problem
from envctl.spec.project import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

FILENAME = "envctl.toml"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CREDENTIAL_KEYS = ("access_key_id_var", "access_key_secret_var", "security_token_var")
TARGET_KEYS = ("url", "default", "description", *CREDENTIAL_KEYS)
TOP_KEYS = ("targets",)
RESERVED = ("local",)


@dataclass(frozen=True)
class NamedTarget:
    """One configured target: its URL and the variables its credentials are read from."""

    name: str
    url: str
    default: bool = False
    description: str = ""
    access_key_id_var: Optional[str] = None
    access_key_secret_var: Optional[str] = None
    security_token_var: Optional[str] = None

    @property
    def credential_vars(self) -> dict[str, str]:
        """``{key: variable name}`` of the credential variables this target overrides."""
        return {k: v for k in CREDENTIAL_KEYS if (v := getattr(self, k))}

    def credential_settings(self) -> dict[str, Setting[Optional[str]]]:
        """``{key: setting}`` reading each overridden credential from the target's variable."""
        base = {
            "access_key_id_var": settings.ACCESS_KEY_ID,
            "access_key_secret_var": settings.ACCESS_KEY_SECRET,
            "security_token_var": settings.SECURITY_TOKEN,
        }
        return {k: settings.renamed_secret(base[k], v) for k, v in self.credential_vars.items()}


@dataclass(frozen=True)
class TargetsConfig:
    """All configured targets of a project, in file order (empty without ``envctl.toml``)."""

    path: Path
    targets: tuple[NamedTarget, ...] = ()

    def get(self, name: str) -> Optional[NamedTarget]:
        return next((t for t in self.targets if t.name == name), None)

    @property
    def default(self) -> Optional[NamedTarget]:
        return next((t for t in self.targets if t.default), None)

    def names(self) -> list[str]:
        return [t.name for t in self.targets]

    def unknown(self, name: str) -> EnvctlError:
        """The error for ``--target NAME`` that is neither configured nor a URL."""
        close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        known = ", ".join(self.names()) or f"none: {self.path.name} defines no [targets]"
        return EnvctlError(f"unknown target {name!r}; {hint}configured targets: {known}")


class _Locator:
    """Line and column of a table or key in the TOML text (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, name: str) -> tuple[int, int]:
        header = re.compile(r'^\s*\[\s*targets\s*\.\s*["\']?' + re.escape(name) + r'["\']?\s*\]')
        for number, line in enumerate(self.lines, 1):
            if header.match(line):
                return number, line.index("[") + 1
        return self.key(None, name)

    def top(self, key: str) -> tuple[int, int]:
        """A top-level key: ``key = ...`` or the header of a ``[key.sub]`` table."""
        header = re.compile(r"^(\s*)\[+\s*[\"']?" + re.escape(key) + r"[\"']?\s*[\].]")
        for number, line in enumerate(self.lines, 1):
            found = header.match(line)
            if found:
                return number, len(found.group(1)) + 1
        return self.key(None, key)

    def key(self, table: Optional[str], key: str) -> tuple[int, int]:
        start = self.table(table)[0] if table is not None else 0
        pattern = re.compile(r"^(\s*)[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for number in range(start + 1 if start else 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if table is not None and number > start and line.lstrip().startswith("["):
                break
            found = pattern.match(line)
            if found:
                return number, len(found.group(1)) + 1
        return (start, 1) if start else (1, 1)


def _did_you_mean(word: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"


def _syntax_problem(path: Path, exc: Exception) -> Problem:
    message = str(exc)
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if found and line is None:
        line, col = int(found.group(1)), int(found.group(2))
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", getattr(exc, "msg", message))
    return Problem(path, line or 1, col or 1, f"invalid TOML: {message}")


def _check_target(path: Path, where: _Locator, name: str, table: Any) -> list[Problem]:
    line, col = where.table(name)
    if not _NAME.match(name) or name in RESERVED:
        why = "is reserved" if name in RESERVED else "must be lowercase letters, digits, '-' or '_'"
        return [Problem(path, line, col, f"target name {name!r} {why}")]
    if not isinstance(table, dict):
        return [Problem(path, line, col, f"targets.{name} must be a table with a url")]
    problems = []
    for key, value in table.items():
        kline, kcol = where.key(name, key)
        if key not in TARGET_KEYS:
            hint = _did_you_mean(key, TARGET_KEYS)
            problems.append(
                Problem(path, kline, kcol, f"unknown key {key!r} in [targets.{name}]{hint}")
            )
        elif key == "default" and not isinstance(value, bool):
            problems.append(Problem(path, kline, kcol, "default must be true or false"))
        elif key in ("url", "description") and not isinstance(value, str):
            problems.append(Problem(path, kline, kcol, f"{key} must be a string"))
        elif key in CREDENTIAL_KEYS and not (isinstance(value, str) and _VARIABLE.match(value)):
            problems.append(
                Problem(
                    path, kline, kcol, f"{key} must name an environment variable (not hold a value)"
                )
            )
    if "url" not in table:
        problems.append(Problem(path, line, col, f"[targets.{name}] needs a url"))
    elif isinstance(table["url"], str) and "://" not in table["url"] and table["url"] != "local":
        kline, kcol = where.key(name, "url")
        problems.append(
            Problem(path, kline, kcol, "url must be a target URL (local:///path, odps://...)")
        )
    return problems


def check_config(project: Project) -> tuple[TargetsConfig, list[Problem]]:
    """The project's targets and every problem in ``envctl.toml`` (none when it is absent)."""
    path = project.root / FILENAME
    config = TargetsConfig(path)
    if not path.is_file():
        return config, []
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except ValueError as exc:
        return config, [_syntax_problem(path, exc)]
    where = _Locator(text)
    problems = []
    for key in data:
        if key not in TOP_KEYS:
            line, col = where.top(key)
            problems.append(
                Problem(path, line, col, f"unknown key {key!r}{_did_you_mean(key, TOP_KEYS)}")
            )
    tables = data.get("targets", {})
    if not isinstance(tables, dict):
        line, col = where.key(None, "targets")
        return config, [
            *problems,
            Problem(path, line, col, "targets must be a table of [targets.<name>]"),
        ]
    targets = []
    for name, table in tables.items():
        found = _check_target(path, where, name, table)
        problems += found
        if not found:
            targets.append(NamedTarget(name=name, **table))
    defaults = [t for t in targets if t.default]
    for extra in defaults[1:]:
        line, col = where.key(extra.name, "default")
        first = defaults[0].name
        problems.append(
            Problem(path, line, col, f"only one target may be the default ({first!r} is)")
        )
    return TargetsConfig(path, tuple(targets)), problems


def load_config(project: Project) -> TargetsConfig:
    """The project's targets; a problem in ``envctl.toml`` is a one-line error (its first)."""
    config, problems = check_config(project)
    if problems:
        more = f" (and {len(problems) - 1} more; run 'envctl targets')" if len(problems) > 1 else ""
        raise EnvctlError(f"{problems[0]}{more}")
    return config


def is_url(value: str) -> bool:
    """A target URL (``local``, ``local:///p``, ``odps://...``) rather than a configured name."""
    return value == "local" or "://" in value or ":" in value


def select(value: Optional[str], config: TargetsConfig) -> tuple[str, Optional[NamedTarget]]:
    """``(url, named target or None)`` for a ``--target``/``ENVCTL_TARGET`` value.

    A configured name wins; a URL is used as is; nothing given means the ``default = true``
    target, else ``local``.
    """
    if not value:
        chosen = config.default
        return (chosen.url, chosen) if chosen else ("local", None)
    named = config.get(value)
    if named is not None:
        return named.url, named
    if is_url(value):
        return value, None
    raise config.unknown(value)
