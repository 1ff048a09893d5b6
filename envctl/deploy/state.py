"""The deployed-state model: resource naming, version metadata and current pointers. Pure.

Layout in a target (flat names, all under the ``envctl-`` prefix so ONE listing sees them):

* ``envctl-<env>-<sha12>.tar.gz`` - immutable, content-addressed archives (``archive`` type);
* ``envctl-state.json`` - the single index: per environment the current version and the
  full version history with metadata (python, platform, packages, lock hash, git commit...).
  Switching a pointer is one replace of this object, so plan/status/runtime need one read;
* ``envctl-lease.json`` - the apply lease (see ``envctl.deploy.lease``);
* ``envctl-<env>-<lock12>.build.json`` - a build record: which archive a lock builds into,
  written next to an archive uploaded ahead of apply (``envctl build --upload``), so apply
  can adopt that archive without building it (see ``envctl.deploy.stage``).

Temporary resources made by ad-hoc runs use the separate ``envctl_tmp-`` prefix so they
never show up in, or perturb, the controller's listing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from envctl.errors import EnvctlError, one_line
from envctl.files import is_hex_digest

if TYPE_CHECKING:
    from envctl.targets.base import ObjectInfo

PREFIX = "envctl-"
STATE_OBJECT = "envctl-state.json"
LEASE_OBJECT = "envctl-lease.json"
TEMP_PREFIX = "envctl_tmp-"
RUNTIME_PREFIX = "envctl_"
"""What the UDF runtime publishes (``envctl_tmp-`` temporaries, ``envctl_pin-`` force_rebuild
archives): gc lists it and applies the runtime's rules (``retention.collect(temp_rules=...)``)."""
STATE_FORMAT = 1
HASH_LEN = 12
_ARCHIVE = re.compile(r"^envctl-(?P<env>[a-z0-9][a-z0-9_-]*)-(?P<hash>[0-9a-f]{12})\.tar\.gz$")
_BUILD_RECORD = re.compile(
    r"^envctl-(?P<env>[a-z0-9][a-z0-9_-]*)-(?P<lock>[0-9a-f]{12})\.build\.json$"
)
_SBOM = re.compile(r"envctl-[a-z0-9][a-z0-9_-]*-[0-9a-f]{12}\.cdx\.json")
_ENV_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # the spec schema's name rule
_PYTHON = re.compile(r"3\.[0-9]{1,2}(\.[0-9]{1,3})?")
_PLATFORM = re.compile(r"[a-z0-9_.]{1,100}")
ADOPTED_RESOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # a MaxCompute resource name
_OPTIONAL_FIELDS = ("adopted", "note", "sbom")


def archive_name(environment: str, sha256: str) -> str:
    """The immutable resource name of one build of one environment."""
    return f"{PREFIX}{environment}-{sha256[:HASH_LEN]}.tar.gz"


def sbom_name(environment: str, sha256: str) -> str:
    """The CycloneDX SBOM stored beside one archive (``envctl.lock.sbom``)."""
    return f"{PREFIX}{environment}-{sha256[:HASH_LEN]}.cdx.json"


def is_sbom_name(name: str) -> bool:
    return _SBOM.fullmatch(name) is not None


def parse_archive_name(name: str) -> Optional[tuple[str, str]]:
    """``(environment, sha12)`` for an archive resource name, None for anything else."""
    match = _ARCHIVE.match(name)
    return (match["env"], match["hash"]) if match else None


def build_record_name(environment: str, lock_hash: str) -> str:
    """The name of the build record of ``environment`` built from the lock ``lock_hash``."""
    return f"{PREFIX}{environment}-{lock_hash[:HASH_LEN]}.build.json"


def parse_build_record_name(name: str) -> Optional[tuple[str, str]]:
    """``(environment, lock12)`` for a build record's name, None for anything else."""
    match = _BUILD_RECORD.match(name)
    return (match["env"], match["lock"]) if match else None


@dataclass(frozen=True)
class BuildRecord:
    """An archive uploaded for one lock of one environment, before any apply points at it.

    Immutable like the archive it describes: every runner that builds the same lock writes
    the same record, so writing it is idempotent.
    """

    environment: str
    lock_hash: str
    resource: str
    sha256: str
    md5: str
    size: int
    packages: tuple[tuple[str, str], ...] = ()

    def to_bytes(self) -> bytes:
        data = {
            **asdict(self),
            "format": STATE_FORMAT,
            "packages": [list(p) for p in self.packages],
        }
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> BuildRecord:
        """Parse a record; ValueError naming the first field that breaks its rule.

        The record lives on a shared target, so its fields are checked like the index's.
        """
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from None
        _check(isinstance(data, dict) and data.get("format") == STATE_FORMAT, "format", data)
        try:
            record = cls(
                environment=data["environment"],
                lock_hash=data["lock_hash"],
                resource=data["resource"],
                sha256=data["sha256"],
                md5=data["md5"],
                size=data["size"],
                packages=tuple(
                    (_text(n, "package"), _text(v, "package")) for n, v in data.get("packages", ())
                ),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"missing or malformed field {exc}") from None
        _check(_name_ok(record.environment), "environment", record.environment)
        _check(is_hex_digest(record.lock_hash, "sha256"), "lock_hash", record.lock_hash)
        _check(is_hex_digest(record.sha256, "sha256"), "sha256", record.sha256)
        _check(is_hex_digest(record.md5, "md5"), "md5", record.md5)
        _check(
            record.resource == archive_name(record.environment, record.sha256),
            "resource",
            record.resource,
        )
        _check(_int(record.size) and record.size >= 0, "size", record.size)
        return record


@dataclass(frozen=True)
class VersionInfo:
    """One deployed, immutable build: everything the runtime needs without the archive."""

    environment: str
    version: int
    resource: str
    sha256: str
    md5: str
    size: int
    lock_hash: str
    python: str
    platform: str
    packages: tuple[tuple[str, str], ...] = ()
    created: float = 0.0
    uploaded_modified: float = 0.0
    git_commit: Optional[str] = None
    adopted: bool = False
    """An existing archive recorded by ``envctl adopt``: not built from a lock, any resource
    name, and never deleted by envctl (other tools, SQL functions, may still use it)."""
    note: Optional[str] = None
    """Why this version is special, for people (``adopted: not built from a lock``)."""
    sbom: Optional[str] = None
    """The CycloneDX SBOM object stored beside the archive (``sbom_name``), if any."""

    @property
    def label(self) -> str:
        return f"v{self.version}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["packages"] = [list(p) for p in self.packages]
        for key in _OPTIONAL_FIELDS:  # absent unless set: states of plain builds stay as they were
            if not data[key]:
                del data[key]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionInfo:
        """Parse one version record; a field that fails its rule raises ValueError naming it.

        The state object lives on a shared target that others can write, and its fields reach
        cache paths (``sha256``), resource names (``resource``) and interpreter discovery
        (``python``), so each is checked against the exact form envctl writes.
        """
        values = dict(data)
        values["packages"] = tuple(
            (_text(n, "package"), _text(v, "package")) for n, v in values.get("packages", ())
        )
        info = cls(**values)
        _check(_name_ok(info.environment), "environment", info.environment)
        _check(_int(info.version) and info.version >= 1, "version", info.version)
        _check(is_hex_digest(info.sha256, "sha256"), "sha256", info.sha256)
        _check(is_hex_digest(info.md5, "md5"), "md5", info.md5)
        if info.adopted is True:
            _check(
                isinstance(info.resource, str)
                and ADOPTED_RESOURCE.fullmatch(info.resource) is not None,
                "resource",
                info.resource,
            )
        else:
            _check(info.adopted is False, "adopted", info.adopted)
            _check(
                info.resource == archive_name(info.environment, info.sha256),
                "resource",
                info.resource,
            )
        _check(
            info.note is None or (isinstance(info.note, str) and info.note.isprintable()),
            "note",
            info.note,
        )
        _check(info.sbom in (None, sbom_name(info.environment, info.sha256)), "sbom", info.sbom)
        _check(_int(info.size) and info.size >= 0, "size", info.size)
        _check(
            isinstance(info.lock_hash, str) and info.lock_hash.isprintable(),
            "lock_hash",
            info.lock_hash,
        )
        _check(
            isinstance(info.python, str) and _PYTHON.fullmatch(info.python) is not None,
            "python",
            info.python,
        )
        _check(
            isinstance(info.platform, str) and _PLATFORM.fullmatch(info.platform) is not None,
            "platform",
            info.platform,
        )
        for key in ("created", "uploaded_modified"):
            value = getattr(info, key)
            _check(
                isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
                key,
                value,
            )
        commit = info.git_commit
        _check(
            commit is None or (isinstance(commit, str) and commit.isprintable()),
            "git_commit",
            commit,
        )
        return info


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name_ok(value: object) -> bool:
    return isinstance(value, str) and _ENV_NAME.fullmatch(value) is not None


def _text(value: object, what: str) -> str:
    _check(isinstance(value, str) and value.isprintable(), what, value)
    return str(value)


def _check(ok: bool, what: str, value: object) -> None:
    """Raise the ValueError ``State.from_bytes`` reports as corruption (value shortened, quoted)."""
    if not ok:
        raise ValueError(f"invalid {what} {str(value)[:80]!r}")


@dataclass(frozen=True)
class EnvState:
    """History of one environment; ``current`` is the version jobs get."""

    name: str
    current: Optional[int] = None
    versions: tuple[VersionInfo, ...] = ()

    def version(self, number: int) -> Optional[VersionInfo]:
        return next((v for v in self.versions if v.version == number), None)

    @property
    def current_version(self) -> Optional[VersionInfo]:
        return self.version(self.current) if self.current is not None else None

    def find_lock(self, lock_hash: str) -> Optional[VersionInfo]:
        """The newest earlier version built from the same lock (re-point instead of rebuild)."""
        return next((v for v in reversed(self.versions) if v.lock_hash == lock_hash), None)

    def previous(self) -> Optional[VersionInfo]:
        """The newest version older than the current one (what a plain rollback goes to)."""
        older = [v for v in self.versions if self.current is None or v.version < self.current]
        return max(older, key=lambda v: v.version, default=None)

    def lookup(self, text: str) -> VersionInfo:
        """A version by ``v3``, ``3`` or a sha256 prefix (at least 6 hex digits)."""
        wanted = text.strip().lower()
        number = wanted[1:] if wanted.startswith("v") else wanted
        if number.isdigit() and self.version(int(number)):
            return self.version(int(number))  # type: ignore[return-value]
        if len(wanted) >= 6:
            matches = [v for v in self.versions if v.sha256.startswith(wanted)]
            if len(matches) == 1:
                return matches[0]
        known = ", ".join(v.label for v in self.versions) or "none"
        raise EnvctlError(f"environment {self.name!r} has no version {text!r} (known: {known})")

    @property
    def next_number(self) -> int:
        return max((v.version for v in self.versions), default=0) + 1


@dataclass(frozen=True)
class State:
    """The whole index object. ``serial`` increases with every write."""

    serial: int = 0
    environments: Mapping[str, EnvState] = field(default_factory=dict)

    def env(self, name: str) -> EnvState:
        return self.environments.get(name) or EnvState(name)

    def with_env(self, env: EnvState) -> State:
        return replace(self, environments={**self.environments, env.name: env})

    def without_env(self, name: str) -> State:
        return replace(self, environments={k: v for k, v in self.environments.items() if k != name})

    def with_version(self, info: VersionInfo) -> State:
        """Record a new version and make it current."""
        env = self.env(info.environment)
        return self.with_env(replace(env, current=info.version, versions=(*env.versions, info)))

    def with_current(self, name: str, number: int) -> State:
        env = self.env(name)
        if env.version(number) is None:
            raise EnvctlError(f"environment {name!r} has no version v{number}")
        return self.with_env(replace(env, current=number))

    def without_versions(self, name: str, numbers: set[int]) -> State:
        env = self.env(name)
        return self.with_env(
            replace(env, versions=tuple(v for v in env.versions if v.version not in numbers))
        )

    def referenced_resources(self) -> set[str]:
        return {v.resource for env in self.environments.values() for v in env.versions}

    def next_serial(self) -> State:
        return replace(self, serial=self.serial + 1)

    def to_bytes(self) -> bytes:
        data = {
            "format": STATE_FORMAT,
            "serial": self.serial,
            "environments": {
                name: {"current": env.current, "versions": [v.to_json() for v in env.versions]}
                for name, env in sorted(self.environments.items())
            },
        }
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes, where: str = STATE_OBJECT) -> State:
        """Parse the index; anything malformed is a clear error, never a traceback."""
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
                raise ValueError(
                    f"unsupported format {data.get('format') if isinstance(data, dict) else data!r}"
                )
            envs = {
                name: _env_from_json(name, entry) for name, entry in data["environments"].items()
            }
            serial = data["serial"]
            _check(_int(serial) and serial >= 0, "serial", serial)
            return cls(serial=serial, environments=envs)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise EnvctlError(
                f"state object {where} is corrupt ({type(exc).__name__}: {one_line(str(exc))}); "
                "restore it from a backup "
                "or delete it to start over (archives stay in place)"
            ) from None


def _env_from_json(name: str, entry: Mapping[str, Any]) -> EnvState:
    """One environment's record; its versions must belong to it and ``current`` must be a number."""
    _check(_name_ok(name), "environment name", name)
    versions = tuple(VersionInfo.from_json(v) for v in entry.get("versions", []))
    for version in versions:
        _check(
            version.environment == name,
            f"environment of {name} {version.label}",
            version.environment,
        )
    current = entry.get("current")
    _check(current is None or _int(current), "current", current)
    return EnvState(name=name, current=current, versions=versions)


@dataclass(frozen=True)
class Observed:
    """The target as seen at one moment: the index and every envctl object's listing entry."""

    state: State
    objects: Mapping[str, ObjectInfo]
    fingerprint: str


def fingerprint(state_bytes: bytes, objects: Iterable[ObjectInfo]) -> str:
    """Changes whenever the index or any archive changes; ignores the lease and temporaries.

    A saved plan stores this; apply refuses the plan when the target no longer matches it.
    """
    digest = hashlib.sha256(state_bytes)
    for info in sorted(objects, key=lambda i: i.name):
        if parse_archive_name(info.name) and not info.temp:
            digest.update(f"\n{info.name}\t{info.size}\t{int(info.modified)}".encode())
    return digest.hexdigest()
