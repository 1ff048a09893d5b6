"""Environment specs: the YAML files under ``environments/`` turned into validated values.

The JSON Schema (``schemas/environment.schema.json``) is the single source of truth for the
shape of one file; this module adds only what a schema cannot express: positions for messages,
the name/file-stem rule, cross-file checks (duplicates, ``extends``) and inheritance.
"""

from __future__ import annotations

import difflib
import importlib
import json
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

from packaging.utils import canonicalize_name

from envctl.errors import EnvctlError
from envctl.spec.indexes import literal_password, with_variable_password
from envctl.spec.requirements import (
    RequirementError,
    direct_urls,
    requirement_name,
    split_requirements,
)
from envctl.spec.yamlpos import Document, Key, YamlProblem, parse

_FORMAT_LIBRARIES = (
    "fqdn", "idna", "isoduration", "jsonpointer", "rfc3339_validator", "rfc3986_validator",
    "rfc3987", "rfc3987_syntax", "uri_template", "webcolors",
)  # fmt: skip
"""What ``jsonschema`` imports for optional formats (its ``format`` and ``format-nongpl``
extras).
"""


def _import_jsonschema() -> Any:
    """``jsonschema``, without the optional format libraries it would load on import.

    Why: envctl checks only its own formats (``_FORMATS``), but importing jsonschema imports
    every format library that happens to be installed, and ``rfc3987-syntax`` alone compiles
    38 grammars when imported (1.4 s, on every command that reads a spec). Hiding them for
    the import keeps them out; they stay importable afterwards for anyone else.
    """
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    hidden = [name for name in _FORMAT_LIBRARIES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # importing it raises ImportError
    try:
        return importlib.import_module("jsonschema")
    finally:
        for name in hidden:
            del sys.modules[name]


if TYPE_CHECKING:
    import jsonschema
else:
    jsonschema = _import_jsonschema()

DEFAULT_PLATFORM = "manylinux2014_x86_64"
# native_builds: when an sdist with compiled code may be built for the cluster
# (README, "Native builds").
NATIVE_BUILD_POLICIES = ("never", "when-no-wheel", "prefer-newest")
DEFAULT_NATIVE_BUILDS = "when-no-wheel"
SPEC_SUFFIXES = (".yaml", ".yml")
MAX_SPEC_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, printed as ``path:line:col: message``."""

    path: Path
    line: int
    col: int
    message: str
    pointer: tuple[str, ...] = ()
    """Lines that show where in a value the error is (a caret), printed below by ``validate``."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


@dataclass(frozen=True)
class SqlFunction:
    """A SQL function bound to an environment (``functions:``): registered by apply with its
    code files and the environment's current archive as resources."""

    name: str
    class_name: str
    code: tuple[str, ...]


@dataclass(frozen=True)
class Environment:
    """A fully merged environment: what the builder and controller consume."""

    name: str
    python: str
    platform: str = DEFAULT_PLATFORM
    description: str = ""
    requirements: tuple[str, ...] = ()
    prefer_binary: bool = False
    pre_release: bool = False
    allow_sdist: bool = True
    native_builds: str = DEFAULT_NATIVE_BUILDS
    audit_wheel: bool = (
        True  # False: the runtime's no_audit_wheel (no auditwheel repair); no spec key
    )
    exclude: tuple[str, ...] = ()
    index_url: Optional[str] = None
    extra_index_urls: tuple[str, ...] = ()
    labels: Mapping[str, Any] = field(default_factory=dict, hash=False)
    owners: tuple[str, ...] = ()
    functions: tuple[SqlFunction, ...] = ()
    extends: tuple[str, ...] = ()
    path: Optional[Path] = field(default=None, compare=False)
    custom_image: bool = False  # runs in a custom image: any python, no runtime warning

    def lock_inputs(self) -> dict[str, Any]:
        """Everything that decides the resolution: a lock is stale when any of it changes.

        The native-build settings count only when not at their defaults, so locks made before
        they existed keep their hashes.
        """
        inputs: dict[str, Any] = {
            "python": self.python,
            "platform": self.platform,
            "requirements": sorted(self.requirements),
            "prefer_binary": self.prefer_binary,
            "pre_release": self.pre_release,
            "allow_sdist": self.allow_sdist,
            "exclude": sorted(self.exclude),
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
        }
        if self.native_builds != DEFAULT_NATIVE_BUILDS:
            inputs["native_builds"] = self.native_builds
        if not self.audit_wheel:
            inputs["audit_wheel"] = False
        return inputs


@dataclass
class LoadResult:
    """Environments that loaded cleanly, and every problem found in any file."""

    environments: dict[str, Environment] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass
class _Parsed:
    path: Path
    doc: Document

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = self.doc.value  # the schema check made it a mapping
        return value

    def problem(
        self, key: Key, message: str, *, of_key: bool = False, pointer: tuple[str, ...] = ()
    ) -> Problem:
        line, col = self.doc.position(key, of_key=of_key)
        return Problem(self.path, line, col, message, pointer)


# ---------------------------------------------------------------------------------------------
# Schema


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The environment JSON Schema shipped with the package (the file in ``schemas/``)."""
    text = (
        resources.files("envctl.spec").joinpath("schema/environment.schema.json").read_text("utf-8")
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


_FORMATS = jsonschema.FormatChecker(formats=())
"""Only envctl's own formats: jsonschema's built-in ones switch on when optional packages
happen to be installed (``rfc3986-validator`` makes ``uri`` refuse ``${VAR}`` URLs), and a
spec must validate the same everywhere."""


@_FORMATS.checks("pep508-requirements", raises=RequirementError)
def _check_requirements(value: object) -> bool:
    if isinstance(value, str):
        split_requirements(value)
    return True


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    return cls(schema(), format_checker=_FORMATS)


_FRIENDLY = {
    ("name", "pattern"): "name {value!r} is invalid: use lower-case letters, digits, '-' and '_' "
    "(starting with a letter or digit, at most 63 characters)",
    ("extends", "pattern"): "extends {value!r} is not a valid environment name",
    ("python", "pattern"): 'python {value!r} is not a supported CPython version: use "3.6" to '
    '"3.13", optionally with a patch level such as "3.7.9"',
    ("platform", "enum"): "platform {value!r} is not supported; choose one of: {choices}",
    ("index_url", "pattern"): "index_url {value!r} must be an http(s):// or file:// URL "
    "without spaces or control characters",
    ("extra_index_urls", "pattern"): "extra index URL {value!r} must be an http(s):// or file:// "
    "URL without spaces or control characters",
    ("exclude", "pattern"): "exclude entry {value!r} is not a valid distribution name",
}


def _schema_problem(parsed: _Parsed, error: jsonschema.ValidationError) -> Problem:
    key: Key = tuple(error.absolute_path)
    field_name = next((k for k in key if isinstance(k, str)), "")
    top = key[0] if key else ""
    if error.validator == "additionalProperties" and not key:
        allowed = sorted(schema()["properties"])
        instance = error.instance if isinstance(error.instance, dict) else {}
        unknown = [k for k in instance if k not in schema()["properties"]]
        messages = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; allowed keys: {', '.join(allowed)}"
            )
            messages.append(parsed.problem((name,), f"unknown key {name!r}{hint}", of_key=True))
        return messages[0] if len(messages) == 1 else _Multi(messages)  # type: ignore[return-value]
    if error.validator == "format" and error.validator_value == "pep508-requirements":
        cause = error.cause or error.message
        pointer = cause.pointer if isinstance(cause, RequirementError) else ()
        return parsed.problem(key, f"requirements: {cause}", pointer=pointer)
    if error.validator == "required":
        return parsed.problem(key, f"missing required key: {error.message.split()[0]}")
    if (
        error.validator == "type"
        and field_name == "python"
        and isinstance(error.instance, (int, float))
    ):
        return parsed.problem(
            key,
            'python must be a quoted string such as "3.10"; '
            f"YAML read {error.instance!r} as a number",
        )
    template = _FRIENDLY.get((str(top), str(error.validator)))
    if template:
        options = error.validator_value if error.validator == "enum" else ()
        choices = ", ".join(map(str, options if isinstance(options, (list, tuple)) else ()))
        return parsed.problem(key, template.format(value=error.instance, choices=choices))
    where = ".".join(_key_part(k) for k in key)
    return parsed.problem(key, f"{where}: {error.message}" if where else error.message)


def _key_part(key: Union[str, int]) -> str:
    """One step of a problem's key path; quoted when bare text would hide it (or break the line)."""
    text = str(key)
    return text if text and text.isprintable() and text.strip() == text else repr(text)


class _Multi(list[Problem]):  # several problems from one schema error (several unknown keys)
    pass


def _validate_shape(parsed: _Parsed) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(parsed.data):
        found = _schema_problem(parsed, error)
        problems.extend(found if isinstance(found, _Multi) else [found])
    return problems


# ---------------------------------------------------------------------------------------------
# Reading files


def spec_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand directories to their ``*.yaml``/``*.yml`` files; report paths that do not exist."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(path, 1, 1, "no such file or directory"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def _read(path: Path) -> tuple[Optional[_Parsed], list[Problem]]:
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            return None, [Problem(path, 1, 1, f"file is larger than {MAX_SPEC_BYTES // 1024} KiB")]
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, 1, 1, f"file is not UTF-8 text (byte {exc.start})")]
    except OSError as exc:
        return None, [Problem(path, 1, 1, f"cannot read file: {exc.strerror or exc}")]
    try:
        doc = parse(text)
    except YamlProblem as exc:
        return None, [Problem(path, exc.line, exc.col, exc.message)]
    parsed = _Parsed(path, doc)
    if not isinstance(doc.value, dict):
        kind = type(doc.value).__name__
        return None, [
            parsed.problem((), f"expected a mapping with at least 'name', found a {kind}")
        ]
    return parsed, []


def _check_file(parsed: _Parsed) -> list[Problem]:
    problems = _validate_shape(parsed)
    if problems:
        return problems
    name = parsed.data["name"]
    if parsed.path.suffix in SPEC_SUFFIXES and parsed.path.stem != name:
        problems.append(
            parsed.problem(
                ("name",),
                f"name {name!r} does not match the file name "
                f"{parsed.path.name!r}; rename one so they agree",
            )
        )
    if parsed.data.get("extends") == name:
        problems.append(parsed.problem(("extends",), f"environment {name!r} cannot extend itself"))
    return problems + _literal_credentials(parsed)


def _literal_credentials(parsed: _Parsed) -> list[Problem]:
    """Index and direct requirement URLs with a written-out password (never echoed: the
    message shows the fix instead)."""
    urls: list[tuple[Key, str, str]] = []
    if isinstance(parsed.data.get("index_url"), str):
        urls.append((("index_url",), "index_url", parsed.data["index_url"]))
    for i, url in enumerate(parsed.data.get("extra_index_urls", [])):
        urls.append((("extra_index_urls", i), "extra_index_urls entry", url))
    for i, text in enumerate(parsed.data.get("requirements", [])):
        for url in direct_urls([text]):
            urls.append((("requirements", i), "requirements entry", url))
    return [
        parsed.problem(
            key,
            f"{what} embeds a literal password; reference an environment variable such as "
            f"{with_variable_password(url)}",
        )
        for key, what, url in urls
        if literal_password(url)
    ]


# ---------------------------------------------------------------------------------------------
# Inheritance


def _merge_requirements(parent: list[str], child: list[str]) -> list[str]:
    """Parent's requirements, with any project the child names replaced by the child's entry."""
    names = {requirement_name(r) for r in child}
    return [r for r in parent if requirement_name(r) not in names] + child


def _union(first: Iterable[Any], second: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys([*first, *second]))


def merge(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Apply ``child`` over ``parent`` using the documented ``extends`` rules.

    Scalars: the child's value wins when set. ``requirements``: concatenated, a child entry
    replacing the parent's entry for the same project. ``exclude``, ``extra_index_urls``,
    ``owners``: union, parent first. ``labels``: merged, child keys win. ``name`` and
    ``extends`` are never inherited.
    """
    merged = {k: v for k, v in parent.items() if k not in ("name", "extends")}
    for key, value in child.items():
        if key == "requirements":
            merged[key] = _merge_requirements(merged.get(key, []), value)
        elif key in ("exclude", "extra_index_urls", "owners"):
            merged[key] = _union(merged.get(key, []), value)
        elif key == "labels":
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def _expanded_requirements(data: Mapping[str, Any]) -> list[str]:
    return [r for text in data.get("requirements", []) for r in split_requirements(text)]


@dataclass(frozen=True)
class _Link:
    """What resolving one environment's ``extends`` chain gave (memoized per name).

    ``merged``/``chain`` when the chain is sound; ``skip`` when it reaches a file with its own
    problems (reported already); else ``problem`` (an unknown parent, the same for every
    descendant) or ``cycle`` (the cycle's text, reported at each environment that reaches it).
    """

    merged: Optional[dict[str, Any]] = None
    chain: tuple[str, ...] = ()
    skip: bool = False
    problem: Optional[Problem] = None
    cycle: Optional[str] = None


def _resolve_links(by_name: Mapping[str, _Parsed], broken: set[str]) -> dict[str, _Link]:
    """Every environment's merged data, each chain link merged once (linear in the files).

    Why: resolving each name from scratch merges its whole chain again, quadratic in the
    depth (a 3000-deep chain took minutes). Walks are iterative, so depth is not limited by
    Python's recursion limit.
    """
    memo: dict[str, _Link] = {}
    for start in by_name:
        path: list[str] = []
        position: dict[str, int] = {}
        name: Optional[str] = start
        end: _Link
        while True:
            assert name is not None
            if name in memo:
                end = memo[name]
                break
            if name in position:  # a cycle: each member reports it starting from itself
                members = path[position[name] :]
                for i, member in enumerate(members):
                    memo[member] = _Link(cycle=" -> ".join([*members[i:], *members[:i], member]))
                path = path[: position[name]]
                end = memo[name]
                break
            if name in broken:  # its own problems are reported already; its data can't be trusted
                memo[name] = end = _Link(skip=True)
                break
            position[name] = len(path)
            path.append(name)
            parent = by_name[name].data.get("extends")
            if parent is None:
                end = _Link(merged={}, chain=())
                break
            if parent not in by_name:
                close = difflib.get_close_matches(parent, list(by_name), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                message = f"extends unknown environment {parent!r}{hint}"
                problem = by_name[name].problem(("extends",), message)
                end = _Link(problem=problem)
                break
            name = parent
        for link in reversed(path):
            if end.merged is not None:
                data = dict(by_name[link].data)
                data["requirements"] = _expanded_requirements(data)
                end = _Link(merged=merge(end.merged, data), chain=(link, *end.chain))
            memo[link] = end
    return memo


def _build(
    name: str, link: _Link, by_name: Mapping[str, _Parsed]
) -> tuple[Optional[Environment], list[Problem]]:
    merged = link.merged or {}
    chain = link.chain
    parsed = by_name[name]
    if "python" not in merged:
        return None, [
            parsed.problem(
                (), "missing required key 'python' (not set here or in any environment it extends)"
            )
        ]
    return (
        Environment(
            name=name,
            python=str(merged["python"]),
            platform=merged.get("platform", DEFAULT_PLATFORM),
            description=merged.get("description", ""),
            requirements=tuple(merged.get("requirements", [])),
            prefer_binary=bool(merged.get("prefer_binary", False)),
            pre_release=bool(merged.get("pre_release", False)),
            allow_sdist=bool(merged.get("allow_sdist", True)),
            native_builds=str(merged.get("native_builds", DEFAULT_NATIVE_BUILDS)),
            exclude=tuple(dict.fromkeys(canonicalize_name(e) for e in merged.get("exclude", []))),
            index_url=merged.get("index_url"),
            extra_index_urls=tuple(merged.get("extra_index_urls", [])),
            labels=dict(merged.get("labels", {})),
            owners=tuple(merged.get("owners", [])),
            functions=tuple(
                SqlFunction(f["name"], f["class"], tuple(f["code"]))
                for f in merged.get("functions", [])
            ),
            extends=tuple(chain[1:]),
            path=parsed.path,
            custom_image=bool(merged.get("custom_image", False)),
        ),
        [],
    )


# ---------------------------------------------------------------------------------------------
# Entry points


def load_environments(paths: Iterable[Path]) -> LoadResult:
    """Load, validate and merge every spec under ``paths``, collecting all problems."""
    files, problems = spec_files([Path(p) for p in paths])
    result = LoadResult(files=files, problems=problems)
    by_name: dict[str, _Parsed] = {}
    broken: set[str] = set()
    for path in files:
        parsed, read_problems = _read(path)
        result.problems.extend(read_problems)
        if parsed is None:
            continue
        file_problems = _check_file(parsed)
        result.problems.extend(file_problems)
        name = parsed.data.get("name")
        if not isinstance(name, str):
            continue
        if name in by_name:
            first = by_name[name].path
            result.problems.append(
                parsed.problem(
                    ("name",), f"duplicate environment name {name!r} (also defined in {first})"
                )
            )
            continue
        by_name[name] = parsed
        if file_problems:
            broken.add(name)
    links = _resolve_links(by_name, broken)
    reported: set[Problem] = set()
    for name in by_name:
        link = links[name]
        chain_problem = link.problem
        if link.cycle is not None:
            chain_problem = by_name[name].problem(("extends",), f"cyclic extends: {link.cycle}")
        if chain_problem is not None:
            if chain_problem not in reported:
                reported.add(chain_problem)
                result.problems.append(chain_problem)
            continue
        if link.skip:
            continue
        environment, build_problems = _build(name, link, by_name)
        result.problems.extend(build_problems)
        if environment is not None:
            result.environments[name] = environment
    result.problems.sort(key=lambda p: (str(p.path), p.line, p.col))
    return result


def load_project_environments(
    environments_dir: Path, names: Optional[Iterable[str]] = None
) -> dict[str, Environment]:
    """All environments in a directory (or the ``names`` asked for); any problem is an error.

    Most callers want ``Project.environments()``, which finds the directory first.
    """
    result = load_environments([environments_dir])
    if result.problems:
        first = result.problems[0]
        more = (
            f" (and {len(result.problems) - 1} more; run 'envctl validate')"
            if len(result.problems) > 1
            else ""
        )
        raise EnvctlError(f"{first}{more}")
    if names is None:
        return result.environments
    selected: dict[str, Environment] = {}
    for name in names:
        if name not in result.environments:
            close = difflib.get_close_matches(name, list(result.environments), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise EnvctlError(f"no environment named {name!r} in {environments_dir}{hint}")
        selected[name] = result.environments[name]
    return selected
