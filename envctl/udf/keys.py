"""Pure naming for ad-hoc archives: what identifies a build and what its resource is called.

The key depends only on what decides the resolution (normalized requirements, flags, target
interpreter and platform, package indexes), so spelling or ordering requirements differently
reuses the same archive, while a different target python never does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional, Sequence

from envctl.deploy.state import TEMP_PREFIX
from envctl.errors import EnvctlError
from envctl.spec.requirements import RequirementError, normalize_requirements

PINNED_PREFIX = "envctl_pin-"
"""Long-term ``force_rebuild`` archives, outside the controller's ``envctl-`` listing; gc keeps
the newest per request key and removes the others after a grace period."""
ARCHIVE_SUFFIX = ".tar.gz"
KEY_CHARS = 24


@dataclass(frozen=True)
class AdhocRequest:
    """Everything an ad-hoc build depends on, already normalized."""

    requirements: tuple[str, ...]
    python: str
    platform: str
    prefer_binary: bool = False
    pre_release: bool = False
    index_url: Optional[str] = None
    extra_index_urls: tuple[str, ...] = ()
    no_audit_wheel: bool = False  # MaxFrame's flag: compiled sdists skip auditwheel repair

    @classmethod
    def create(
        cls,
        requirements: Sequence[str],
        *,
        python: str,
        platform: str,
        prefer_binary: bool = False,
        pre_release: bool = False,
        index_url: Optional[str] = None,
        extra_index_urls: Sequence[str] = (),
        no_audit_wheel: bool = False,
    ) -> AdhocRequest:
        try:
            normalized = normalize_requirements(requirements)
        except RequirementError as exc:
            raise EnvctlError(f"invalid requirement: {exc}") from None
        return cls(
            normalized, python, platform, prefer_binary, pre_release, index_url,
            tuple(extra_index_urls), no_audit_wheel,
        )  # fmt: skip

    @property
    def key(self) -> str:
        """Stable hex digest of the request (sha256 of its canonical JSON).

        ``no_audit_wheel`` counts only when set, so keys made before it existed stay valid.
        """
        fields: dict[str, object] = {
            "requirements": list(self.requirements),
            "python": self.python,
            "platform": self.platform,
            "prefer_binary": self.prefer_binary,
            "pre_release": self.pre_release,
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
        }
        if self.no_audit_wheel:
            fields["no_audit_wheel"] = True
        payload = json.dumps(
            fields,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def temporary_name(self) -> str:
        """Resource name of the expiring archive: one per key, replaced when rebuilt."""
        return f"{TEMP_PREFIX}{self.key[:KEY_CHARS]}{ARCHIVE_SUFFIX}"

    def pinned_name(self, stamp: str) -> str:
        """Resource name of a ``force_rebuild`` archive: long-term, one per key and ``stamp``.

        The stamp (the process's first ``force_rebuild``, UTC ``YYYYmmddHHMMSS``) is known before
        anything is resolved, so decoration returns at once; each process re-resolves once.
        """
        return f"{PINNED_PREFIX}{self.key[:12]}-{stamp}{ARCHIVE_SUFFIX}"


def pinned_key(name: str) -> str | None:
    """The request-key part of a ``force_rebuild`` archive name, None for other names."""
    if not (name.startswith(PINNED_PREFIX) and name.endswith(ARCHIVE_SUFFIX)):
        return None
    return name[len(PINNED_PREFIX) :].split("-", 1)[0]


def is_temporary_resource(name: str) -> bool:
    """Whether a resource name is an expiring ad-hoc archive (what gc may remove)."""
    return name.startswith(TEMP_PREFIX) and name.endswith(ARCHIVE_SUFFIX)


def is_adhoc_resource(name: str) -> bool:
    """Whether a resource name was produced by the ad-hoc path, temporary or pinned."""
    return is_temporary_resource(name) or (
        name.startswith(PINNED_PREFIX) and name.endswith(ARCHIVE_SUFFIX)
    )
