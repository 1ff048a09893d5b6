"""Turn a pure-Python sdist into a wheel; refuse sdists with compiled code.

Some projects publish only an sdist (jieba 0.40). A pure-Python one builds into a
``py*-none-any`` wheel on any machine, so envctl builds it here with ``pip wheel --no-deps``
in build isolation (its build requirements come from the spec's indexes, never the user's
pip config). Compiled code cannot be built for the cluster's interpreter and glibc on this
host, so such an sdist is refused before building, and any build whose result is not a
pure wheel is refused too. Built wheels are cached by the sdist's sha256.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import parse_wheel_filename

from envctl import console
from envctl.build.cache import Cache
from envctl.files import atomic_path
from envctl.errors import EnvctlError
from envctl.lock.isolation import index_access
from envctl.lock.lockfile import LockedFile
from envctl.lock.native import describe_sources, native_sources, sdist_members


def _refusal(file: LockedFile, reason: str) -> EnvctlError:
    return EnvctlError(
        f"{file.name} {file.version} is only available as an sdist with compiled code ({reason}); it cannot be "
        "compiled for the cluster here. Pin a version of it that ships manylinux wheels for the target, "
        "or exclude it if the cluster provides it"
    )


def is_pure_wheel(wheel: Path) -> bool:
    """``py*-none-any`` tags and ``Root-Is-Purelib: true`` in its WHEEL file."""
    _, _, _, tags = parse_wheel_filename(wheel.name)
    if any(t.abi != "none" or t.platform != "any" or not t.interpreter.startswith("py") for t in tags):
        return False
    with zipfile.ZipFile(wheel) as archive:
        wheel_file = next((n for n in archive.namelist() if n.endswith(".dist-info/WHEEL") and n.count("/") == 1), None)
        if wheel_file is None:
            return False
        text = archive.read(wheel_file).decode("utf-8", "replace").lower()
    return "root-is-purelib: true" in text


def build_wheel(sdist: Path, file: LockedFile, cache: Cache, index_urls: Sequence[str]) -> Path:
    """The pure wheel built from ``sdist`` (cached by the sdist's sha256)."""
    out_dir = cache.built_wheel_dir(file.sha256)
    with cache.filelock(f"built-{file.sha256}"):
        existing = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
        if existing:
            return existing[0]
        found = native_sources(sdist_members(sdist))
        if found:
            raise _refusal(file, describe_sources(found))
        with tempfile.TemporaryDirectory(prefix="envctl-sdist-", dir=cache.tmp_dir) as tmp:
            console.info(f"building {file.filename} into a wheel")
            with index_access(index_urls) as (options, env):  # credentials in a 0600 file, not argv
                command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", tmp, *options, str(sdist)]
                result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            wheels = sorted(Path(tmp).glob("*.whl"))
            if result.returncode != 0 or not wheels:
                detail = console.redact((result.stderr.strip().splitlines() or ["no output"])[-1])[:300]
                raise EnvctlError(f"building a wheel from {file.filename} failed: {detail}")
            if not is_pure_wheel(wheels[0]):
                raise _refusal(file, f"the build produced {wheels[0].name}")
            with atomic_path(out_dir / wheels[0].name) as target:
                target.write_bytes(wheels[0].read_bytes())
        return out_dir / wheels[0].name
