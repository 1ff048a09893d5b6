"""The target lock: one lease object, created exclusively, so two applies never interleave.

Why a lease with an expiry rather than a bare lock: a crashed apply must not block a target
forever. The holder is named in every refusal, and ``force-unlock ID`` breaks a lease on purpose.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Optional

from envctl import console
from envctl.errors import EnvctlError
from envctl.state import LEASE_OBJECT
from envctl.targets.base import ObjectExists, ObjectMissing, Target

DEFAULT_TTL = 3600.0
POLL_INTERVAL = 1.0


@dataclass(frozen=True)
class Lease:
    """Who holds the target, since when, until when; ``machine``/``pid`` find the process."""

    id: str
    owner: str
    operation: str
    created: float
    expires: float
    machine: str = ""
    pid: int = 0

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Optional["Lease"]:
        """None for an unreadable lease object (treated like an expired one)."""
        try:
            data = json.loads(raw.decode())
            return cls(str(data["id"]), str(data["owner"]), str(data["operation"]), float(data["created"]),
                       float(data["expires"]), str(data.get("machine", "")), int(data.get("pid", 0)))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def describe(self) -> str:
        held = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        return f"{self.owner} ({self.operation}, since {held}, lease ID {self.id})"


def whoami() -> str:
    """``user@host:pid`` - enough to find the process holding a lease."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}:{os.getpid()}"


def machine_id() -> str:
    """Host, boot and PID namespace: equal only where our PIDs and the holder's are comparable.

    Empty where that cannot be known (no ``/proc``), which disables dead-holder detection.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{socket.gethostname()}/{boot}/{namespace}"


def holder_is_gone(lease: Lease) -> bool:
    """True only when the holder ran on this very machine and its process no longer exists.

    Why: a killed apply (SIGKILL, OOM, a closed laptop lid is different: its process lives)
    must not block the next run on the same machine for the whole TTL.
    """
    here = machine_id()
    if not here or lease.machine != here or lease.pid <= 0:
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but is not ours (EPERM): alive
        return False
    return False


def current_lease(target: Target) -> Optional[Lease]:
    try:
        raw = target.read(LEASE_OBJECT)
    except ObjectMissing:
        return None
    return Lease.from_bytes(raw) or Lease("?", "unreadable lease object", "?", 0.0, 0.0)


def acquire(
    target: Target,
    operation: str,
    *,
    timeout: float = 0.0,
    ttl: float = DEFAULT_TTL,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """Take the lease, waiting up to ``timeout`` seconds; expired leases are broken."""
    deadline = clock() + timeout
    waited = False
    while True:
        now = clock()
        lease = Lease(uuid.uuid4().hex[:12], whoami(), operation, now, now + ttl, machine_id(), os.getpid())
        try:
            target.create_exclusive(LEASE_OBJECT, lease.to_bytes())
            return lease
        except ObjectExists:
            holder = current_lease(target)
        if holder is None:
            continue  # released between our create and read: try again at once
        if holder.id == lease.id:
            return lease  # our create landed but its answer was lost and retried
        if holder.expires <= clock() or holder_is_gone(holder):
            if holder.expires > clock():
                console.warn(f"breaking the lease of {holder.describe()}: that process no longer exists")
            target.delete(LEASE_OBJECT)  # expired: break it; the next create decides who wins
            continue
        if clock() >= deadline:
            raise EnvctlError(
                f"target {target.url} is locked by {holder.describe()}; wait with --lock-timeout, "
                f"or if that process is gone run 'envctl force-unlock {holder.id}'"
            )
        if not waited:
            console.info(f"target is locked by {holder.describe()}; waiting up to {timeout:g}s for it")
            waited = True
        sleep(min(POLL_INTERVAL, max(0.05, deadline - clock())))


def release(target: Target, lease: Lease) -> None:
    """Give the lease back, unless someone force-unlocked and re-took it meanwhile."""
    holder = current_lease(target)
    if holder is not None and holder.id == lease.id:
        target.delete(LEASE_OBJECT)


@contextmanager
def held(target: Target, operation: str, *, timeout: float = 0.0, ttl: float = DEFAULT_TTL) -> Iterator[Lease]:
    lease = acquire(target, operation, timeout=timeout, ttl=ttl)
    try:
        yield lease
    finally:
        release(target, lease)


def force_unlock(target: Target, lease_id: str) -> Lease:
    """Break the lease with this ID (the ID guards against breaking a newer, live lease)."""
    holder = current_lease(target)
    if holder is None:
        raise EnvctlError(f"target {target.url} is not locked")
    if holder.id != lease_id:
        raise EnvctlError(f"target {target.url} is locked by {holder.describe()}, not by lease ID {lease_id!r}")
    target.delete(LEASE_OBJECT)
    return holder
