"""Reading what is deployed: one listing plus one read of the index, whatever the env count.

``Observed`` and ``fingerprint`` are pure values of ``state`` (re-exported here). Also the tiny
read API for the runtime decorator: ``current_resource(target, env)``.
"""

from __future__ import annotations

from typing import Optional

from envctl import crashpoints
from envctl.deploy.state import (  # Observed and fingerprint are re-exported
    LEASE_OBJECT,
    PREFIX,
    STATE_OBJECT,
    Observed,
    State,
    VersionInfo,
    fingerprint,
)
from envctl.targets.base import ObjectMissing, Target


def observe(target: Target) -> Observed:
    """List ``envctl-*`` once and read the index only if the listing shows it exists."""
    objects = {info.name: info for info in target.list(PREFIX) if info.name != LEASE_OBJECT}
    raw = b""
    if STATE_OBJECT in objects:
        try:
            raw = target.read(STATE_OBJECT)
        except ObjectMissing:
            raw = b""
    state = State.from_bytes(raw, f"{STATE_OBJECT} in {target.url}") if raw else State()
    for version in (v for env in state.environments.values() for v in env.versions if v.adopted):
        if version.resource not in objects:  # adopted names are outside the envctl- listing
            adopted = target.stat(version.resource)
            if adopted is not None:
                objects[version.resource] = adopted
    return Observed(state=state, objects=objects, fingerprint=fingerprint(raw, objects.values()))


def read_state(target: Target) -> State:
    """Just the index (one read; an empty state when nothing was ever applied)."""
    try:
        raw = target.read(STATE_OBJECT)
    except ObjectMissing:
        return State()
    return State.from_bytes(raw, f"{STATE_OBJECT} in {target.url}")


def write_state(target: Target, state: State) -> State:
    """Replace the index with ``state`` (serial bumped); the caller holds the lease."""
    saved = state.next_serial()
    with crashpoints.naming("state-write"):  # the crash test's "index staged, not in place"
        target.put_bytes(STATE_OBJECT, saved.to_bytes())
    return saved


def current_resource(target: Target, env_name: str) -> Optional[VersionInfo]:
    """What jobs using ``env_name`` should reference now (one small read, no archive download).

    ``VersionInfo.resource`` is the archive resource name; ``sha256``, ``python``,
    ``platform`` and ``packages`` describe it. None when the environment is not deployed.
    """
    return read_state(target).env(env_name).current_version
