"""PEP 751 lock files (``environments/pylock.<name>.toml``): values in, TOML out, and back.

A lock is single-target (one CPython version on one platform: one file per package) and its
text is deterministic, so re-locking an unchanged spec is byte-identical. Pure: no network.
Layout, excluded packages and provenance: docs/design.md, "Lock files".
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Optional

import tomli_w
from packaging.pylock import Pylock, PylockValidationError
from packaging.utils import canonicalize_name

from envctl.errors import EnvctlError
from envctl.files import write_text_atomic
from envctl.lock.target_python import full_version
from envctl.spec.loader import Environment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


def parse_toml(text: str) -> dict[str, Any]:
    """TOML text as data (``tomllib``, or ``tomli`` before 3.11); errors are ValueErrors."""
    return tomllib.loads(text)


LOCK_VERSION = "1.0"
CREATED_BY = "envctl"
# Bump when the install layout or archive format changes: it is part of every lock hash, so
# cached archives built by an older layout are never reused.
ARCHIVE_LAYOUT = 1


@dataclass(frozen=True)
class LockedFile:
    """One artifact to download: a wheel, or an sdist to build into a pure-Python wheel."""

    name: str
    version: str
    filename: str
    url: str
    sha256: str
    size: Optional[int]
    kind: str  # "wheel" or "sdist"

    @property
    def is_wheel(self) -> bool:
        return self.kind == "wheel"


@dataclass(frozen=True)
class NativeBuild:
    """Provenance of a wheel compiled from a locked sdist (``[tool.envctl] builds``).

    The sdist's sha256 stays the package's hash (what was reviewed); this records what
    building it gave: the wheel, its sha256 and manylinux tag, and the toolchain that made it
    (tool versions and fixed flags), so ``envctl build`` can insist on the same bytes.
    """

    name: str
    version: str
    sdist_sha256: str
    wheel: str
    wheel_sha256: str
    platform_tag: str
    toolchain: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_toml(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sdist-sha256": self.sdist_sha256,
            "wheel": self.wheel,
            "wheel-sha256": self.wheel_sha256,
            "platform-tag": self.platform_tag,
            "toolchain": dict(sorted(self.toolchain.items())),
        }

    @classmethod
    def from_toml(cls, data: Mapping[str, Any], where: str) -> NativeBuild:
        toolchain = data.get("toolchain", {})
        if not isinstance(toolchain, Mapping):
            raise _Bad(f"{where}: 'toolchain' must be a table")
        return cls(
            name=canonicalize_name(_get(data, "name", str, where)),
            version=_get(data, "version", str, where),
            sdist_sha256=_get(data, "sdist-sha256", str, where),
            wheel=_get(data, "wheel", str, where),
            wheel_sha256=_get(data, "wheel-sha256", str, where),
            platform_tag=_get(data, "platform-tag", str, where),
            toolchain={str(k): str(v) for k, v in toolchain.items()},
        )


@dataclass(frozen=True)
class Lock:
    """A resolved environment for one target; ``packages`` is exactly what gets packed."""

    environment: str
    python: str
    platform: str
    inputs_hash: str
    packages: tuple[LockedFile, ...]
    excluded: tuple[tuple[str, str], ...] = ()  # (name, version) resolved but not packed
    resolver: str = field(default="pip", compare=False)
    builds: tuple[NativeBuild, ...] = ()  # provenance of the sdists compiled for the target
    # sha256 of sdists the resolver already unpacked and found free of compiled code (not
    # written to the file): ``record_native_builds`` need not download them again to check.
    pure_sdists: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def lock_hash(self) -> str:
        """sha256 of everything that decides the archive bytes (not URLs, not the env name).

        Compiled sdists add their wheel's sha256 and toolchain (so the archive cache key
        changes with them); a lock without any keeps the hash it always had.
        """
        content: dict[str, Any] = {
            "layout": ARCHIVE_LAYOUT,
            "python": self.python,
            "platform": self.platform,
            "packages": sorted(
                [p.name, p.version, p.filename, p.sha256, p.kind] for p in self.packages
            ),
        }
        if self.builds:
            content["builds"] = sorted(
                (b.to_toml() for b in self.builds), key=lambda b: str(b["name"])
            )
        return sha256_json(content)

    def build_of(self, file: LockedFile) -> Optional[NativeBuild]:
        """The recorded native build of the sdist ``file``, if the lock has one."""
        return next(
            (b for b in self.builds if b.name == file.name and b.sdist_sha256 == file.sha256), None
        )

    def package(self, name: str) -> Optional[LockedFile]:
        wanted = canonicalize_name(name)
        return next((p for p in self.packages if p.name == wanted), None)


def sha256_json(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys, no spaces): a key for cached results."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_hash(env: Environment) -> str:
    """sha256 of the spec inputs that decide a resolution: a lock is stale when it changes."""
    return sha256_json(env.lock_inputs())


def is_current(env: Environment, lock: Lock) -> bool:
    """True when ``lock`` was made from exactly this spec (no network needed)."""
    return (
        lock.inputs_hash == inputs_hash(env)
        and lock.environment == env.name
        and lock.python == full_version(env.python)
        and lock.platform == env.platform
    )


def staleness(env: Environment, lock: Optional[Lock]) -> Optional[str]:
    """Why ``lock`` cannot be used for ``env`` (``None`` when it is current)."""
    if lock is None:
        return "missing"
    if not is_current(env, lock):
        return "stale (the spec changed since it was locked)"
    return None


# ---------------------------------------------------------------------------------------------
# Writing


def _scalar(value: Any) -> str:
    return tomli_w.dumps({"v": value})[len("v = ") :].rstrip("\n")


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def _artifact(file: LockedFile) -> dict[str, Any]:
    data: dict[str, Any] = {"name": file.filename, "url": file.url}
    if file.size is not None:
        data["size"] = file.size
    data["hashes"] = {"sha256": file.sha256}
    return data


def dumps(lock: Lock) -> str:
    """The lock as PEP 751 TOML text (deterministic)."""
    from envctl.lock.target_python import TargetPython

    target = TargetPython.of(lock.python, lock.platform)
    lines = [
        f"lock-version = {_scalar(LOCK_VERSION)}",
        f"environments = [{_scalar(target.environment_marker())}]",
        f"requires-python = {_scalar(target.requires_python())}",
        f"created-by = {_scalar(CREATED_BY)}",
    ]
    if not lock.packages:  # PEP 751 requires the key; an empty environment has no tables
        lines.append("packages = []")
    for file in sorted(lock.packages, key=lambda p: (p.name, p.version)):
        lines += [
            "",
            "[[packages]]",
            f"name = {_scalar(file.name)}",
            f"version = {_scalar(file.version)}",
        ]
        if file.is_wheel:
            lines += ["wheels = [", f"    {_inline(_artifact(file))},", "]"]
        else:
            lines.append(f"sdist = {_inline(_artifact(file))}")
    lines += [
        "",
        "[tool.envctl]",
        f"environment = {_scalar(lock.environment)}",
        f"python = {_scalar(lock.python)}",
        f"platform = {_scalar(lock.platform)}",
        f"inputs-hash = {_scalar(lock.inputs_hash)}",
        f"lock-hash = {_scalar(lock.lock_hash())}",
        f"resolver = {_scalar(lock.resolver)}",
    ]
    if lock.excluded:
        lines += [
            "excluded = [",
            *(f"    {_inline({'name': n, 'version': v})}," for n, v in sorted(lock.excluded)),
            "]",
        ]
    else:
        lines.append("excluded = []")
    if lock.builds:
        builds = sorted(lock.builds, key=lambda b: b.name)
        lines += ["builds = [", *(f"    {_inline(b.to_toml())}," for b in builds), "]"]
    return "\n".join(lines) + "\n"


def _without_provenance(lock: Lock) -> str:
    """The lock text minus what depends on which resolver ran: its name and file sizes (uv
    reports sizes, pip does not); neither is part of ``lock_hash``."""
    return dumps(
        replace(lock, resolver="", packages=tuple(replace(p, size=None) for p in lock.packages))
    )


def same_lock_text(before: Optional[str], lock: Lock) -> bool:
    """Does the existing lock text ``before`` already say what ``lock`` says?

    Provenance does not count: pip and uv give the same answer for a lock they both can make,
    so a machine with uv must not rewrite a lock made without it (or back) just to change
    the recorded resolver or add/drop file sizes.
    """
    if before is None:
        return False
    try:
        recorded = loads(before)
    except ValueError:
        return False
    return before == dumps(recorded) and _without_provenance(recorded) == _without_provenance(lock)


def check_pep751(data: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``data`` is a valid PEP 751 lock, as ``packaging.pylock``
    reads it.

    Why: the writer is hand-rolled (for deterministic, reviewable text); checking what it writes
    and what it reads against the reference implementation keeps it from drifting from the PEP.
    """
    try:
        Pylock.from_dict(dict(data)).validate()
    except PylockValidationError as exc:
        raise _Bad(f"not a valid PEP 751 lock ({exc})") from None


def write_lock(path: Path, lock: Lock) -> None:
    """Write atomically, so a crash never leaves a half-written lock behind.

    The text is checked against PEP 751 first (``check_pep751``); a failure is a bug in envctl.
    """
    text = dumps(lock)
    try:
        check_pep751(tomllib.loads(text))
    except _Bad as exc:
        raise EnvctlError(f"internal error: the lock for {lock.environment} is {exc}") from None
    write_text_atomic(path, text)


# ---------------------------------------------------------------------------------------------
# Reading


class _Bad(ValueError):
    pass


def _get(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Bad(f"{where}: '{key}' is missing or not a {kind.__name__}")
    return value


def _file(package: Mapping[str, Any], index: int) -> LockedFile:
    where = f"packages[{index}]"
    name = canonicalize_name(_get(package, "name", str, where))
    version = _get(package, "version", str, f"{where} ({name})")
    wheels = package.get("wheels") or []
    sdist = package.get("sdist")
    if len(wheels) + (1 if sdist else 0) != 1:
        raise _Bad(
            f"{where} ({name}): expected exactly one wheel or one sdist for this single-target lock"
        )
    artifact, kind = (wheels[0], "wheel") if wheels else (sdist, "sdist")
    if not isinstance(artifact, Mapping):
        raise _Bad(f"{where} ({name}): {kind} must be a table")
    url = _get(artifact, "url", str, f"{where} ({name}) {kind}")
    hashes = _get(artifact, "hashes", dict, f"{where} ({name}) {kind}")
    sha256 = hashes.get("sha256")
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise _Bad(f"{where} ({name}): {kind} has no valid sha256 hash")
    size = artifact.get("size")
    return LockedFile(
        name=name,
        version=version,
        filename=artifact.get("name") or url.rsplit("/", 1)[-1].split("#", 1)[0],
        url=url,
        sha256=sha256.lower(),
        size=size if isinstance(size, int) else None,
        kind=kind,
    )


def _builds(value: Any) -> tuple[NativeBuild, ...]:
    if not isinstance(value, list) or not all(isinstance(b, Mapping) for b in value):
        raise _Bad("tool.envctl: 'builds' must be an array of tables")
    return tuple(NativeBuild.from_toml(b, f"tool.envctl.builds[{i}]") for i, b in enumerate(value))


def loads(text: str) -> Lock:
    """Parse lock text; raises ``ValueError`` describing the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _Bad(f"not valid TOML ({exc})") from None
    if data.get("lock-version") != LOCK_VERSION:
        raise _Bad(
            f"unsupported lock-version {data.get('lock-version')!r} (expected {LOCK_VERSION!r})"
        )
    check_pep751(data)
    tool = data.get("tool", {}).get("envctl")
    if not isinstance(tool, dict):
        raise _Bad("no [tool.envctl] table: not written by envctl")
    packages = data.get("packages", [])
    if not isinstance(packages, list):
        raise _Bad("'packages' must be an array of tables")
    excluded = tool.get("excluded", [])
    lock = Lock(
        environment=_get(tool, "environment", str, "tool.envctl"),
        python=_get(tool, "python", str, "tool.envctl"),
        platform=_get(tool, "platform", str, "tool.envctl"),
        inputs_hash=_get(tool, "inputs-hash", str, "tool.envctl"),
        packages=tuple(_file(p, i) for i, p in enumerate(packages)),
        excluded=tuple(
            (str(e.get("name")), str(e.get("version"))) for e in excluded if isinstance(e, dict)
        ),
        resolver=str(tool.get("resolver", "unknown")),
        builds=_builds(tool.get("builds", [])),
    )
    recorded = tool.get("lock-hash")
    if recorded is not None and recorded != lock.lock_hash():
        raise _Bad("lock-hash does not match the packages (was the file edited by hand?)")
    return lock


def read_lock(path: Path) -> Lock:
    """Read a lock file; any problem is a one-line EnvctlError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvctlError(f"lock file {path} does not exist; run 'envctl lock'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvctlError(f"cannot read lock file {path}: {exc}") from None
    try:
        return loads(text)
    except _Bad as exc:
        raise EnvctlError(
            f"corrupt lock file {path}: {exc}; run 'envctl lock' to regenerate it"
        ) from None
