"""An ``Environment`` resolved for its *target* interpreter into a PEP 751 ``Lock``.

This is the only stage that resolves (pip or uv, with the target's markers); the lock it
writes is what the later stages consume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl import lazy_exports

if TYPE_CHECKING:
    from envctl.lock.lockfile import (
        Lock as Lock,
    )
    from envctl.lock.lockfile import (
        LockedFile as LockedFile,
    )
    from envctl.lock.lockfile import (
        inputs_hash as inputs_hash,
    )
    from envctl.lock.lockfile import (
        is_current as is_current,
    )
    from envctl.lock.lockfile import (
        read_lock as read_lock,
    )
    from envctl.lock.lockfile import (
        staleness as staleness,
    )
    from envctl.lock.lockfile import (
        write_lock as write_lock,
    )
    from envctl.lock.native import native_sources as native_sources
    from envctl.lock.resolve import (
        RESOLVERS as RESOLVERS,
    )
    from envctl.lock.resolve import (
        resolve_environment as resolve_environment,
    )
    from envctl.lock.target_python import TargetPython as TargetPython
    from envctl.lock.target_python import full_version as full_version

__all__ = [
    "RESOLVERS",
    "Lock",
    "LockedFile",
    "TargetPython",
    "full_version",
    "inputs_hash",
    "is_current",
    "native_sources",
    "read_lock",
    "resolve_environment",
    "staleness",
    "write_lock",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "Lock": "lockfile",
        "LockedFile": "lockfile",
        "read_lock": "lockfile",
        "write_lock": "lockfile",
        "is_current": "lockfile",
        "staleness": "lockfile",
        "inputs_hash": "lockfile",
        "resolve_environment": "resolve",
        "RESOLVERS": "resolve",
        "TargetPython": "target_python",
        "full_version": "target_python",
        "native_sources": "native",
    },
)
