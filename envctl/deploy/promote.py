"""Build once, deploy many: archives travel between configured targets byte for byte.

When ``apply --target prod`` needs the archive of a lock that another target of
``envctl.toml`` (dev, staging) already runs or ran, it copies those exact bytes (checked
against the sha256 that target recorded) instead of rebuilding, so every target runs the
identical archive; the local cache is the next source, a build the last. ``envctl promote
ENV --from dev --to prod`` does the same explicitly, and refuses when dev's current version
was not built from the lock git declares (the reviewed lock is what gets promoted, nothing
else). Plans show the source: ``promote from dev, v3, sha256 1a2b3c4d5e6f``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Mapping, Optional, cast

from envctl import console
from envctl.deploy.apply import BuildFn, Built
from envctl.deploy.observe import observe
from envctl.deploy.plan import DesiredEnv, Plan
from envctl.deploy.state import Observed, VersionInfo
from envctl.errors import EnvctlError
from envctl.files import atomic_path, file_hexdigest, write_json_atomic
from envctl.lock.lockfile import Lock
from envctl.spec.loader import Environment
from envctl.spec.project import Project
from envctl.targets import Target, open_url
from envctl.targets.config import NamedTarget, TargetsConfig, load_config

if TYPE_CHECKING:  # the build stage loads only when an archive is copied
    from envctl.build.builder import BuiltArchive
    from envctl.build.cache import Cache


@dataclass(frozen=True)
class Source:
    """A version of an environment on another configured target, and that target."""

    name: str
    target: Target
    version: VersionInfo

    @property
    def summary(self) -> str:
        return (
            f"promote from {self.name}, v{self.version.version}, sha256 {self.version.sha256[:12]}"
        )


def _intact(version: VersionInfo, observed: Observed) -> bool:
    info = observed.objects.get(version.resource)
    return info is not None and info.size == version.size


def _observe_named(project: Project, named: NamedTarget) -> Optional[tuple[Target, Observed]]:
    """Open and observe ``named``; None (with a debug line) when it cannot be reached."""
    try:
        target = open_url(named.url, project, named.credential_vars)
        return target, observe(target)
    except EnvctlError as exc:
        console.debug(f"target {named.name!r} not used as a source: {exc.message}")
        return None


def find_sources(
    project: Project,
    config: TargetsConfig,
    current_url: str,
    wanted: Mapping[str, str],
) -> dict[str, Source]:
    """For each ``{environment: lock hash}`` in ``wanted``, the first other configured target
    (in file order) holding an intact archive of that lock. Unreachable targets are skipped:
    a source is an optimisation, building stays possible.
    """
    sources: dict[str, Source] = {}
    for named in config.targets:
        missing = {env: lock for env, lock in wanted.items() if env not in sources}
        if not missing:
            break
        if named.url == current_url:
            continue
        seen = _observe_named(project, named)
        if seen is None:
            continue
        target, observed = seen
        for env, lock_hash in missing.items():
            version = observed.state.env(env).find_lock(lock_hash)
            if version is not None and _intact(version, observed):
                sources[env] = Source(named.name, target, version)
    return sources


def to_copy(plan: Plan, desired: Mapping[str, DesiredEnv]) -> dict[str, str]:
    """``{environment: lock hash}`` of the changes apply would build (the ones a copy saves)."""
    return {
        name: desired[name].lock_hash or ""
        for name in plan.to_build
        if name in desired and desired[name].lock_hash
    }


def annotate(plan: Plan, sources: Mapping[str, Source]) -> Plan:
    """``plan`` with each change that a source serves marked (and its reasons saying so)."""
    changes = []
    for change in plan.changes:
        source = sources.get(change.environment)
        if source is None or change.environment not in plan.to_build:
            changes.append(change)
            continue
        changes.append(
            replace(
                change,
                reasons=(*change.reasons, source.summary),
                source_target=source.name,
                source_version=source.version.version,
                source_sha256=source.version.sha256,
            )
        )
    return replace(plan, changes=tuple(changes))


def fetch_archive(source: Source, cache: Cache) -> BuiltArchive:
    """The source's archive in the local cache under its lock hash, sha256-checked.

    A cached archive with the same sha256 is used as is; one with other bytes (a build that
    was not byte-identical) is replaced, so this target gets exactly what the source runs.
    """
    from envctl.build.builder import BuiltArchive, cached_archive

    version = source.version
    cached = cached_archive(cache, version.lock_hash)
    if cached is not None and cached.sha256 == version.sha256:
        return cached
    dest = cache.archive_path(version.lock_hash)
    with cache.filelock(f"archive-{version.lock_hash}"):
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dest) as tmp:
            console.info(f"copying {version.resource} from {source.name} ({source.target.url})")
            source.target.download(version.resource, tmp)
            got = file_hexdigest(tmp)
            if got != version.sha256:
                raise EnvctlError(
                    f"{version.resource} on {source.name} has sha256 {got[:12]}…, but its "
                    f"state records {version.sha256[:12]}…; not copying it "
                    f"(rebuild or re-apply {source.name})"
                )
            md5 = file_hexdigest(tmp, "md5")
            size = tmp.stat().st_size
        built = BuiltArchive(
            path=dest,
            sha256=version.sha256,
            md5=md5,
            size=size,
            lock_hash=version.lock_hash,
            packages=version.packages,
        )
        meta = built.to_json()
        meta["packages"] = [list(p) for p in built.packages]
        meta["largest"] = []
        write_json_atomic(cache.archive_meta_path(version.lock_hash), meta)
    return built


def copying_build(
    sources: Mapping[str, Source], cache: Cache, fallback: Optional[BuildFn]
) -> BuildFn:
    """A build function for ``Applier`` that copies from ``sources`` before building.

    ``fallback`` None means never build (``promote``): an environment without a source is
    an error.
    """

    def build(env: Environment, lock: Lock) -> Built:
        source = sources.get(env.name)
        if source is not None and source.version.lock_hash == lock.lock_hash():
            return cast(Built, fetch_archive(source, cache))  # frozen: read-only fields
        if fallback is None:
            raise EnvctlError(
                f"no source holds the archive of {env.name!r} for its lock; not building"
            )
        return fallback(env, lock)

    return build


def promotion_source(
    project: Project,
    config: TargetsConfig,
    environment: str,
    source_name: str,
    desired: Mapping[str, DesiredEnv],
) -> Source:
    """The version of ``environment`` that ``promote --from source_name`` would copy.

    Refused (EnvctlError) unless that target's current version was built from the lock git
    declares now: promotion moves reviewed locks, not whatever a target happens to run.
    """
    named = config.get(source_name)
    if named is None:
        raise config.unknown(source_name)
    want = desired.get(environment)
    if want is None:
        raise EnvctlError(f"no environment named {environment!r} in environments/")
    if want.lock_problem or not want.lock_hash:
        raise EnvctlError(
            f"the lock of {environment!r} is {want.lock_problem}; run 'envctl lock {environment}'"
        )
    target = open_url(named.url, project, named.credential_vars)
    current = observe(target).state.env(environment).current_version
    if current is None:
        raise EnvctlError(f"{environment!r} is not deployed on {source_name}; apply it there first")
    if current.lock_hash != want.lock_hash:
        raise EnvctlError(
            f"{environment!r} v{current.version} on {source_name} was built from lock "
            f"{current.lock_hash[:12]}, but git declares {want.lock_hash[:12]}; apply the "
            f"declared lock to {source_name} first (promotion copies only what git declares)"
        )
    return Source(source_name, target, current)


def with_sources(
    project: Project, target_url: str, plan: Plan, desired: Mapping[str, DesiredEnv]
) -> tuple[Plan, dict[str, Source]]:
    """``plan`` annotated with the other configured targets that can serve its builds, and
    those sources (for ``copying_build``). Without ``envctl.toml`` nothing is looked up.
    """
    config = load_config(project)
    wanted = to_copy(plan, desired)
    if not wanted or not config.targets:
        return plan, {}
    sources = find_sources(project, config, target_url, wanted)
    return annotate(plan, sources), sources
