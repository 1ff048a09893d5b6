"""The target lock: one lease object, created exclusively, so two applies never interleave.

Why a lease with an expiry rather than a bare lock: a crashed apply must not block a target
forever. The holder is named in every refusal, and ``force-unlock ID`` breaks a lease on purpose.
While held, a daemon thread renews the lease every TTL/3, so a long apply is never taken for a
dead one; before each irreversible write the holder checks the lease is still its own.

Why renewals go to a second object (``envctl-lease-<id>.renewal``) instead of rewriting the
lease: targets have no compare-and-swap, so a rewrite racing a force-unlock and a new holder's
create would clobber the new lease. A renewal names its lease's ID and is ignored for any other
lease, so a late one from a broken holder is harmless (gc removes it).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterator, Optional

from envctl import console, settings
from envctl.deploy.state import LEASE_OBJECT
from envctl.errors import EnvctlError
from envctl.targets.base import ObjectExists, ObjectMissing, Target

POLL_INTERVAL = 1.0
RENEWALS_PER_TTL = 3
"""Renew this often per TTL: two renewals may fail (a flaky network) before the lease lapses."""


class LeaseLost(EnvctlError):
    """Our lease was broken (force-unlock, or taken over after it lapsed) while we held it."""


def lease_ttl() -> float:
    """``ENVCTL_LEASE_TTL`` (a duration such as 90s or 2h), else one hour.

    Why configurable: tests prove renewal with a TTL of seconds, without waiting an hour.
    """
    return settings.LEASE_TTL.get()


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
    def from_bytes(cls, raw: bytes) -> Optional[Lease]:
        """None for an unreadable lease object (treated like an expired one)."""
        try:
            data = json.loads(raw.decode())
            return cls(
                str(data["id"]),
                str(data["owner"]),
                str(data["operation"]),
                float(data["created"]),
                float(data["expires"]),
                str(data.get("machine", "")),
                int(data.get("pid", 0)),
            )
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


RENEWAL_PREFIX = "envctl-lease-"
RENEWAL_SUFFIX = ".renewal"
UNREADABLE = "?"


def renewal_object(lease_id: str) -> str:
    """Where the holder of lease ``lease_id`` records its latest expiry."""
    return f"{RENEWAL_PREFIX}{lease_id}{RENEWAL_SUFFIX}"


def _renewed_until(target: Target, lease_id: str) -> float:
    try:
        return float(json.loads(target.read(renewal_object(lease_id)).decode())["expires"])
    except ObjectMissing:
        return 0.0
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return 0.0  # unreadable: the lease's own expiry stands


def current_lease(target: Target, *, renewals: bool = True) -> Optional[Lease]:
    """The lease object, its expiry extended by its holder's renewal (skip that read with
    ``renewals=False`` when only the holder's ID matters)."""
    try:
        raw = target.read(LEASE_OBJECT)
    except ObjectMissing:
        return None
    lease = Lease.from_bytes(raw)
    if lease is None:
        return Lease(UNREADABLE, "unreadable lease object", UNREADABLE, 0.0, 0.0)
    if not renewals:
        return lease
    return replace(lease, expires=max(lease.expires, _renewed_until(target, lease.id)))


def _drop(target: Target, lease: Lease) -> None:
    """Delete a lease and its renewal record (lease first: the target is free at once)."""
    target.delete(LEASE_OBJECT)
    if lease.id != UNREADABLE:
        target.delete(renewal_object(lease.id))


BREAK_SUFFIX = ".breaking"
BREAK_RETRY = 0.05
STALE_BREAK = 60.0
"""A break marker older than this was left by a process killed mid-break and is removed."""


def break_lease(target: Target, holder: Lease, *, clock: Callable[[], float] = time.time) -> bool:
    """Break ``holder`` (expired or orphaned) at most once, whoever else is trying.

    Targets have no compare-and-swap, so "read lease, see it expired, delete it" could delete
    a lease that another process took in between. The break is therefore serialized by an
    exclusive-create marker per lease ID, and the lease is deleted only if it is still
    ``holder`` once the marker is ours. False when another process holds the marker.
    """
    if holder.id == UNREADABLE:  # no ID to serialize on; a corrupt lease holds nothing
        _drop(target, holder)
        return True
    marker = f"{RENEWAL_PREFIX}{holder.id}{BREAK_SUFFIX}"
    try:
        target.create_exclusive(marker, b"")
    except ObjectExists:
        info = target.stat(marker)
        if info is not None and clock() - info.modified > STALE_BREAK:
            target.delete(marker)
        return False
    try:
        current = current_lease(target, renewals=False)
        if current is not None and current.id == holder.id:
            _drop(target, holder)
    finally:
        target.delete(marker)
    return True


def dead_renewals(target: Target, live_id: str) -> list[str]:
    """Renewal records of leases other than ``live_id`` (the caller's own): left by broken
    holders.
    """
    return [
        i.name
        for i in target.list(RENEWAL_PREFIX)
        if i.name.endswith(RENEWAL_SUFFIX) and i.name != renewal_object(live_id)
    ]


def acquire(
    target: Target,
    operation: str,
    *,
    timeout: float = 0.0,
    ttl: Optional[float] = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """Take the lease, waiting up to ``timeout`` seconds; expired leases are broken."""
    ttl = lease_ttl() if ttl is None else ttl
    deadline = clock() + timeout
    waited = False
    while True:
        now = clock()
        lease = Lease(
            uuid.uuid4().hex[:12], whoami(), operation, now, now + ttl, machine_id(), os.getpid()
        )
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
            if not break_lease(target, holder, clock=clock):
                sleep(BREAK_RETRY)  # another process is breaking it right now
            elif holder.expires > clock():
                console.warn(
                    f"broke the lease of {holder.describe()}: that process no longer exists"
                )
            continue  # the next create decides who wins
        if clock() >= deadline:
            raise EnvctlError(
                f"target {target.url} is locked by {holder.describe()}; wait with --lock-timeout, "
                f"or if that process is gone run 'envctl force-unlock {holder.id}'"
            )
        if not waited:
            console.info(
                f"target is locked by {holder.describe()}; waiting up to {timeout:g}s for it"
            )
            waited = True
        sleep(min(POLL_INTERVAL, max(0.05, deadline - clock())))


def release(target: Target, lease: Lease) -> None:
    """Give the lease back, unless someone force-unlocked and re-took it meanwhile."""
    holder = current_lease(target, renewals=False)
    if holder is not None and holder.id == lease.id:
        _drop(target, lease)


def _lost(target: Target, lease: Lease, holder: Optional[Lease]) -> LeaseLost:
    now = f"; it is now held by {holder.describe()}" if holder is not None else ""
    return LeaseLost(
        f"lease {lease.id} on {target.url} was broken while this {lease.operation} held it "
        f"(force-unlock, or it lapsed and was taken over){now}"
    )


def renew(
    target: Target, lease: Lease, *, ttl: float, clock: Callable[[], float] = time.time
) -> Lease:
    """Our lease with its expiry moved to ``now + ttl``; LeaseLost when it is no longer ours."""
    holder = current_lease(target, renewals=False)
    if holder is None or holder.id != lease.id:
        raise _lost(target, lease, holder)
    renewed = replace(lease, expires=clock() + ttl)
    target.put_bytes(
        renewal_object(lease.id), json.dumps({"id": lease.id, "expires": renewed.expires}).encode()
    )
    return renewed


class HeldLease:
    """A lease kept alive by a daemon thread until ``stop``; ``check`` guards irreversible steps."""

    def __init__(self, target: Target, lease: Lease, ttl: float) -> None:
        self.target = target
        self._beat_target = target.clone()  # the thread's own handle: clients are not thread-safe
        self.lease = lease
        self.ttl = ttl
        self._lost: Optional[LeaseLost] = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"envctl-lease-{lease.id}", daemon=True
        )

    @property
    def id(self) -> str:
        return self.lease.id

    def start(self) -> HeldLease:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End renewals; returns once no renewal can still be writing (so release is final)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _beat(self) -> None:
        while not self._stopping.wait(self.ttl / RENEWALS_PER_TTL):
            try:
                self.lease = renew(self._beat_target, self.lease, ttl=self.ttl)
            except LeaseLost as exc:
                self._lost = exc  # never rewrite a lease that is someone else's now
                return
            except Exception as exc:  # noqa: BLE001 - a failed beat is retried by the next one
                console.debug(
                    f"lease renewal failed, retrying in {self.ttl / RENEWALS_PER_TTL:g}s: {exc}"
                )

    def check(self, before: str) -> None:
        """Raise LeaseLost unless the lease is still ours right now (one read), naming the step
        skipped.
        """
        if self._lost is None:
            holder = current_lease(self.target, renewals=False)
            if holder is None or holder.id != self.lease.id:
                self._lost = _lost(self.target, self.lease, holder)
        if self._lost is not None:
            raise LeaseLost(f"{self._lost.message}; stopped before {before}")


@contextmanager
def held(
    target: Target, operation: str, *, timeout: float = 0.0, ttl: Optional[float] = None
) -> Iterator[HeldLease]:
    """The lease for the ``with`` block, renewed in the background, released at the end."""
    ttl = lease_ttl() if ttl is None else ttl
    lease = acquire(target, operation, timeout=timeout, ttl=ttl)
    keeper: Optional[HeldLease] = None
    try:
        keeper = HeldLease(target, lease, ttl).start()
        yield keeper
    finally:
        if keeper is not None:
            keeper.stop()
        release(target, lease)


def force_unlock(target: Target, lease_id: str) -> Lease:
    """Break the lease with this ID (the ID guards against breaking a newer, live lease)."""
    holder = current_lease(target, renewals=False)
    if holder is None:
        raise EnvctlError(f"target {target.url} is not locked")
    if holder.id != lease_id:
        raise EnvctlError(
            f"target {target.url} is locked by {holder.describe()}, not by lease ID {lease_id!r}"
        )
    _drop(target, holder)
    return holder
