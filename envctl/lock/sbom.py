"""CycloneDX 1.6 SBOMs of locked environments (``envctl sbom ENV``; stored by ``apply``).

The lock already names every artifact with its URL and sha256, so the SBOM is a pure
function of it: one ``library`` component per package (``pkg:pypi`` purl, version, the
artifact's sha256 and download URL), ``scope: excluded`` for the packages the runtime image
provides (resolved, not packed), and, for a package locked as an sdist, the sdist as the
hashed artifact plus the build provenance (envctl builds it into a pure-Python wheel at build
time, or, for one compiled for the cluster, the wheel, its sha256, platform tag and
toolchain the lock pins). The environment itself is the metadata component; with
``archive_sha256`` (as apply stores it) the SBOM names the exact archive it describes.
Deterministic: no timestamp, and the serial number derives from the lock, so one lock always
gives the same document.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Mapping, Optional

from packaging.utils import canonicalize_name

from envctl import __version__
from envctl.lock.lockfile import Lock, LockedFile, NativeBuild

SPEC_VERSION = "1.6"
_NAMESPACE = uuid.UUID("5f0c6c52-4a1e-4b0e-9d7e-2f6a1c3b8e90")


def purl(name: str, version: str) -> str:
    """The package URL of a PyPI release (name normalized as the purl spec requires)."""
    return f"pkg:pypi/{canonicalize_name(name)}@{version}"


def _properties(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _component(file: LockedFile, builds: Mapping[tuple[str, str], NativeBuild]) -> dict[str, Any]:
    ref = purl(file.name, file.version)
    pairs = [("envctl:artifact", file.filename), ("envctl:kind", file.kind)]
    native = builds.get((file.name, file.version))
    if native is not None:  # compiled for the cluster: the lock pins the wheel it gave
        pairs += [
            ("envctl:build", "wheel compiled from this sdist by envctl build"),
            ("envctl:built-wheel", native.wheel),
            ("envctl:built-wheel-sha256", native.wheel_sha256),
            ("envctl:built-platform-tag", native.platform_tag),
        ]
        pairs += [(f"envctl:toolchain:{k}", v) for k, v in sorted(native.toolchain.items())]
    elif not file.is_wheel:
        pairs.append(("envctl:build", "pure-Python wheel built from this sdist by envctl build"))
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref,
        "name": file.name,
        "version": file.version,
        "scope": "required",
        "purl": ref,
        "hashes": [{"alg": "SHA-256", "content": file.sha256}],
        "externalReferences": [
            {
                "type": "distribution",
                "url": file.url,
                "hashes": [{"alg": "SHA-256", "content": file.sha256}],
            }
        ],
        "properties": _properties(pairs),
    }
    return component


def document(lock: Lock, archive_sha256: Optional[str] = None) -> dict[str, Any]:
    """The CycloneDX 1.6 document of ``lock`` (and of the archive built from it, if given)."""
    root_ref = f"envctl-environment:{lock.environment}"
    root: dict[str, Any] = {
        "type": "application",
        "bom-ref": root_ref,
        "name": lock.environment,
        "version": lock.lock_hash()[:12],
        "properties": _properties(
            [
                ("envctl:python", lock.python),
                ("envctl:platform", lock.platform),
                ("envctl:lock-hash", lock.lock_hash()),
                ("envctl:resolver", lock.resolver),
            ]
        ),
    }
    if archive_sha256:
        root["hashes"] = [{"alg": "SHA-256", "content": archive_sha256}]
    builds = {(b.name, b.version): b for b in lock.builds}
    components = [_component(f, builds) for f in sorted(lock.packages, key=lambda f: f.name)]
    for name, version in sorted(lock.excluded):
        ref = purl(name, version)
        components.append(
            {
                "type": "library",
                "bom-ref": ref,
                "name": canonicalize_name(name),
                "version": version,
                "scope": "excluded",
                "purl": ref,
                "properties": _properties([("envctl:excluded", "provided by the runtime image")]),
            }
        )
    seed = f"{lock.environment}\n{lock.lock_hash()}\n{archive_sha256 or ''}"
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(_NAMESPACE, seed)}",
        "version": 1,
        "metadata": {
            "tools": {
                "components": [{"type": "application", "name": "envctl", "version": __version__}]
            },
            "component": root,
        },
        "components": components,
        "dependencies": [
            {"ref": root_ref, "dependsOn": [c["bom-ref"] for c in components]},
            *({"ref": c["bom-ref"]} for c in components),
        ],
    }


def dumps(lock: Lock, archive_sha256: Optional[str] = None) -> str:
    """``document`` as stable JSON text (sorted keys, trailing newline)."""
    return json.dumps(document(lock, archive_sha256), indent=2, sort_keys=True) + "\n"
