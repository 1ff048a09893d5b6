"""``envctl adopt ENV RESOURCE``: take over an archive envctl did not build (``terraform import``).

Teams have archives made by hand or by ``pyodps-pack`` that SQL functions already use. Adopting
one records it in the state as a version of ENV, with its sha256, md5 and size and the
packages its ``*.dist-info`` directories name, marked ``adopted`` with a note that it was not
built from a lock. Nothing is uploaded or renamed. The next ``apply`` sees a version that no
lock produced and replaces it like any update; envctl never deletes an adopted resource
(``gc`` and ``--prune`` forget the record, the resource stays for whoever else uses it).
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Optional

from packaging.utils import canonicalize_name

from envctl.deploy.state import ADOPTED_RESOURCE, State, VersionInfo
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest
from envctl.lock.target_python import full_version
from envctl.spec.loader import Environment
from envctl.targets.base import Target

NOTE = "adopted: not built from a lock"


def archive_packages(path: Path) -> tuple[tuple[str, str], ...]:
    """``(name, version)`` of each ``*.dist-info`` directory in the archive (best effort:
    an archive that cannot be read as tar.gz lists none)."""
    found: set[tuple[str, str]] = set()
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                for part in member.name.split("/"):
                    name, dash, version = part.removesuffix(".dist-info").rpartition("-")
                    if part.endswith(".dist-info") and dash and name:
                        found.add((canonicalize_name(name), version))
    except (tarfile.TarError, OSError, EOFError):
        return ()
    return tuple(sorted(found))


def adopt(
    target: Target,
    state: State,
    env: Environment,
    resource: str,
    *,
    clock: Callable[[], float],
    workdir: Optional[Path] = None,
) -> VersionInfo:
    """The version record for ``resource`` as the first version of ``env`` (not yet saved).

    Refused when ``env`` is already deployed (adoption starts management, it does not
    replace a managed version) or the resource does not exist.
    """
    if ADOPTED_RESOURCE.fullmatch(resource) is None:
        raise EnvctlError(f"{resource!r} is not a resource name")
    current = state.env(env.name).current_version
    if current is not None:
        raise EnvctlError(
            f"{env.name!r} is already deployed on {target.url} ({current.label}); adopt only "
            "records an environment envctl does not manage yet"
        )
    info = target.stat(resource)
    if info is None:
        raise EnvctlError(f"no resource named {resource!r} in {target.url}")
    with tempfile.TemporaryDirectory(prefix="envctl-adopt-", dir=workdir) as tmp:
        local = Path(tmp) / "archive"
        target.download(resource, local)
        sha256, md5 = file_hexdigest(local), file_hexdigest(local, "md5")
        size = local.stat().st_size
        packages = archive_packages(local)
    return VersionInfo(
        environment=env.name,
        version=state.env(env.name).next_number,
        resource=resource,
        sha256=sha256,
        md5=md5,
        size=size,
        lock_hash="",
        python=full_version(env.python),
        platform=env.platform,
        packages=packages,
        created=clock(),
        uploaded_modified=info.modified,
        adopted=True,
        note=NOTE,
    )
