"""Executing a Plan: build -> upload -> verify size/md5 -> switch the pointer, per environment.

Order matters: the index (the only thing jobs read) is rewritten for an environment only after
its archive is in the target and verified, so a failure at any step leaves every environment
either on its old version or fully on the new one. Each rewrite first passes ``guard`` (the
lease check), so an apply whose lease was broken stops before it switches a pointer. Transient
errors are retried inside the target; an upload whose name already exists is accepted only if
its bytes are identical.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Optional

from envctl import console, crashpoints
from envctl.build.size import human
from envctl.deploy.desired import Desired
from envctl.deploy.observe import write_state
from envctl.deploy.plan import Change, DesiredEnv, Plan
from envctl.deploy.stage import Built as Built
from envctl.deploy.stage import Clones, find_all_staged, upload_archive
from envctl.deploy.state import BuildRecord, Observed, State, VersionInfo, archive_name, sbom_name
from envctl.errors import EnvctlError
from envctl.lock.lockfile import Lock
from envctl.progress import step
from envctl.spec.loader import Environment
from envctl.targets.base import ObjectInfo, Target, TargetError

BuildFn = Callable[[Environment, Lock], Built]


@dataclass
class Outcome:
    """What happened to one environment, for the summary and ``--format json``."""

    environment: str
    action: str
    detail: str
    version: Optional[int] = None
    uploaded_bytes: int = 0


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(o.action not in ("noop", "skipped") for o in self.outcomes)


def check_fresh(
    plan: Plan, target: Target, observed: Observed, desired: Mapping[str, DesiredEnv]
) -> None:
    """A saved plan is only valid for the target state and the locks it was made from."""
    if plan.target != target.url:
        raise EnvctlError(f"the plan was made for target {plan.target}, not {target.url}")
    if plan.fingerprint != observed.fingerprint:
        raise EnvctlError(
            "stale plan: the target changed since the plan was made; run 'envctl plan' again"
        )
    for change in plan.changes:
        if change.action == "delete":
            if change.environment in desired:
                raise EnvctlError(
                    f"stale plan: environment {change.environment!r} is back in environments/"
                )
            continue
        want = desired.get(change.environment)
        if want is None or want.lock_hash != change.desired_lock:
            raise EnvctlError(
                f"stale plan: the lock of {change.environment!r} changed since the plan was made; "
                "run 'envctl plan' again"
            )


@dataclass
class Applier:
    """Carries the target, the inputs and the running index through one apply."""

    target: Target
    desired: Desired
    build: BuildFn
    state: State
    objects: dict[str, ObjectInfo]
    commit: Optional[str] = None
    progress: bool = False
    """Report each step (bars on a terminal, plain lines in a CI log)."""
    clock: Callable[[], float] = time.time
    guard: Callable[[str], None] = lambda before: None
    """Called before each index write with what is about to happen; raises to stop (lease lost)."""

    def _lock(self, name: str) -> Lock:
        lock = self.desired[name].lock
        if lock is None:
            raise EnvctlError(f"{name!r} has no lock file; run 'envctl lock {name}'")
        return lock

    def _save(self, state: State, name: str) -> None:
        self.guard(
            f"switching the pointer of {name!r} (environments before it are applied, "
            "it and later ones are unchanged)"
        )
        self.state = write_state(self.target, state)

    @staticmethod
    def _store_sbom(target: Target, lock: Lock, sha256: str) -> str:
        """Write the CycloneDX SBOM of ``lock``'s archive beside it; returns its object name."""
        from envctl.lock.sbom import dumps

        name = sbom_name(lock.environment, sha256)
        target.put_bytes(name, dumps(lock, sha256).encode("utf-8"))
        return name

    def _known(self, state: State, name: str, sha256: str) -> Optional[VersionInfo]:
        """The version of ``name`` already recorded for this archive and lock, if any."""
        lock_hash = self._lock(name).lock_hash()
        return next(
            (
                v
                for v in state.env(name).versions
                if v.sha256 == sha256 and v.lock_hash == lock_hash
            ),
            None,
        )

    def _with_archive(
        self,
        state: State,
        change: Change,
        built: BuildRecord,
        info: ObjectInfo,
        how: str,
        sent: int,
        sbom: Optional[str] = None,
    ) -> tuple[State, Outcome]:
        """``state`` with ``change``'s environment pointing at the archive ``built`` describes.

        ``sbom``: the SBOM object already written for a new version (else it is written here).
        """
        name, lock = change.environment, self._lock(change.environment)
        history = state.env(name)
        same = self._known(state, name, built.sha256)
        if same is not None:
            restored = replace(same, uploaded_modified=info.modified, size=info.size)
            versions = tuple(restored if v is same else v for v in history.versions)
            detail = f"{built.resource} ({how}), v{same.version}"
            return state.with_env(
                replace(history, versions=versions, current=same.version)
            ), Outcome(name, change.action, detail, same.version, sent)
        version = VersionInfo(
            environment=name,
            version=history.next_number,
            resource=built.resource,
            sha256=built.sha256,
            md5=built.md5,
            size=built.size,
            lock_hash=lock.lock_hash(),
            python=lock.python,
            platform=lock.platform,
            packages=tuple(built.packages),
            created=self.clock(),
            uploaded_modified=info.modified,
            git_commit=self.commit,
            sbom=sbom or self._store_sbom(self.target, lock, built.sha256),
        )
        detail = f"{built.resource} {how} ({human(built.size)}), now v{version.version}"
        return state.with_version(version), Outcome(
            name, change.action, detail, version.version, sent
        )

    def _deploy(self, change: Change) -> Outcome:
        name = change.environment
        if change.reuse_version is not None:
            self._save(self.state.with_current(name, change.reuse_version), name)
            return Outcome(
                name,
                change.action,
                f"re-pointed to v{change.reuse_version} (no build)",
                change.reuse_version,
            )
        env, lock = self.desired[name].environment, self._lock(name)
        archive = self.build(env, lock)
        crashpoints.reach("built")
        resource = archive_name(name, archive.sha256)
        uploading = f"{name}: uploading {human(archive.size)}"
        with step(uploading, archive.size, enabled=self.progress) as advance:
            info, sent = upload_archive(
                self.target,
                resource,
                archive,
                objects=self.objects,
                progress=advance,
                replace_corrupt=True,
            )
        crashpoints.reach("uploaded")
        built = BuildRecord(
            name,
            lock.lock_hash(),
            resource,
            archive.sha256,
            archive.md5,
            archive.size,
            tuple(archive.packages),
        )
        state, outcome = self._with_archive(
            self.state, change, built, info, "uploaded" if sent else "present", sent
        )
        self._save(state, name)
        return outcome

    def _adopt(self, changes: list[Change]) -> list[Outcome]:
        """Point every change whose archive was uploaded ahead (``envctl build --upload``) at it,
        in ONE index write: nothing is built or uploaded, so a fan-out's final apply is short.

        Returns their outcomes; the changes without a usable staged archive are left to
        ``_deploy``. The write passes ``guard`` like every other. The per-environment requests
        (checking each staged archive, writing each new version's SBOM) overlap on cloned
        handles (``Clones``), all before that one write: the index never names an archive
        that was not verified, nor a version whose SBOM is missing.
        """
        wanted = {
            c.environment: self._lock(c.environment).lock_hash()
            for c in changes
            if c.action in ("create", "update") and c.reuse_version is None
        }
        clones = Clones(self.target)
        found = find_all_staged(self.target, self.objects, wanted, clones=clones)
        if not found:
            return []
        fresh = [
            (name, built.sha256)
            for name, (built, _) in sorted(found.items())
            if self._known(self.state, name, built.sha256) is None
        ]

        def store(handle: Target, item: tuple[str, str]) -> str:
            return self._store_sbom(handle, self._lock(item[0]), item[1])

        sboms = dict(zip((name for name, _ in fresh), clones.map(store, fresh)))
        state, outcomes = self.state, []
        for change in (c for c in changes if c.environment in found):
            console.info(f"{change.environment}: {change.action} ({'; '.join(change.reasons)})")
            built, info = found[change.environment]
            state, outcome = self._with_archive(
                state, change, built, info, "uploaded ahead", 0, sboms.get(change.environment)
            )
            outcomes.append(outcome)
        self._save(state, ", ".join(sorted(found)))
        return outcomes

    def _delete(self, change: Change) -> Outcome:
        name = change.environment
        resources = [v.resource for v in self.state.env(name).versions if not v.adopted]
        self._save(
            self.state.without_env(name), name
        )  # pointer first: jobs stop resolving it at once
        for resource in resources:
            if resource not in self.state.referenced_resources():
                self.target.delete(resource)
        return Outcome(name, "delete", f"removed with {len(resources)} archive(s)")

    def run(self, plan: Plan, *, prune: bool) -> ApplyResult:
        result = ApplyResult()
        result.outcomes.extend(self._adopt(list(plan.changes)))
        adopted = {o.environment for o in result.outcomes}
        for change in plan.changes:
            if change.action == "noop" or change.environment in adopted:
                continue
            if change.action == "delete" and not prune:
                result.outcomes.append(
                    Outcome(change.environment, "skipped", "not deleted: pass --prune to delete")
                )
                continue
            console.info(f"{change.environment}: {change.action} ({'; '.join(change.reasons)})")
            started = time.monotonic()
            try:
                outcome = (
                    self._delete(change) if change.action == "delete" else self._deploy(change)
                )
            except TargetError as exc:
                raise EnvctlError(
                    f"{change.environment}: {exc.message}; environments before it are applied, "
                    "it and later ones are unchanged"
                ) from None
            if self.progress:
                console.info(f"{change.environment}: done in {time.monotonic() - started:.1f} s")
            result.outcomes.append(outcome)
        return result
