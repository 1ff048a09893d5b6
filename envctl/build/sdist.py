"""Turn a locked sdist into a wheel: pure Python here, compiled code for the cluster's manylinux.

Some projects publish only an sdist (jieba 0.40). A pure-Python one builds into a
``py*-none-any`` wheel on any machine, so envctl builds it here with ``pip wheel --no-deps``
in build isolation (its build requirements come from the spec's indexes, never the user's
pip config); any build whose result is not a pure wheel is refused. Built wheels are cached by
the sdist's sha256.

An sdist with C/C++/Cython code is compiled by ``envctl.build.native`` (zig + auditwheel,
``envctl[native]``), and only when the lock records a build of it: ``envctl lock`` builds it
once and writes the wheel's sha256, manylinux tag and toolchain into ``[tool.envctl] builds``
(:func:`record_native_builds`); ``envctl build`` rebuilds it (or reuses the wheel cached by
sdist, target and toolchain) and refuses a wheel whose sha256 differs from the recorded one.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Optional

from packaging.utils import parse_wheel_filename

from envctl import console
from envctl.build import debris, native
from envctl.build.cache import Cache
from envctl.build.fetch import fetch
from envctl.errors import EnvctlError
from envctl.files import atomic_path, write_json_atomic
from envctl.lock.isolation import index_access
from envctl.lock.lockfile import Lock, LockedFile, NativeBuild, sha256_json
from envctl.lock.native import describe_sources, native_sources, sdist_members
from envctl.spec.indexes import index_urls as spec_index_urls
from envctl.spec.indexes import requirements_and_credentials
from envctl.spec.loader import Environment


def _refusal(file: LockedFile, reason: str, advice: str = "") -> EnvctlError:
    return EnvctlError(
        f"{file.name} {file.version} is only available as an sdist with compiled code ({reason}); "
        f"it cannot be compiled for the cluster here{advice}. Pin a version of it that ships "
        "manylinux wheels for the target, or exclude it if the cluster provides it"
    )


def is_pure_wheel(wheel: Path) -> bool:
    """``py*-none-any`` tags and ``Root-Is-Purelib: true`` in its WHEEL file."""
    _, _, _, tags = parse_wheel_filename(wheel.name)
    if any(
        t.abi != "none" or t.platform != "any" or not t.interpreter.startswith("py") for t in tags
    ):
        return False
    with zipfile.ZipFile(wheel) as archive:
        wheel_file = next(
            (n for n in archive.namelist() if n.endswith(".dist-info/WHEEL") and n.count("/") == 1),
            None,
        )
        if wheel_file is None:
            return False
        text = archive.read(wheel_file).decode("utf-8", "replace").lower()
    return "root-is-purelib: true" in text


def build_wheel(
    sdist: Path,
    file: LockedFile,
    cache: Cache,
    index_urls: Sequence[str],
    *,
    lock: Optional[Lock] = None,
) -> Path:
    """The wheel built from ``sdist``: pure (cached by its sha256), or compiled as ``lock`` says.

    A native sdist without a build recorded in ``lock`` is refused (a hand-written lock, or
    one made with ``native_builds: never``); a compiled wheel whose sha256 differs from the
    recorded one is refused too: the archive must hold what the lock says.
    """
    out_dir = cache.built_wheel_dir(file.sha256)
    existing = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
    if existing:  # only ever built from this sdist after the scan below found it pure
        return existing[0]
    found = native_sources(sdist_members(sdist))
    if found:
        record = lock.build_of(file) if lock is not None else None
        if lock is None or record is None:
            advice = " (the lock records no native build of it)"
            raise _refusal(file, describe_sources(found), advice=advice)
        wheel, built = build_native(
            sdist, file, cache, index_urls, python=lock.python, platform=lock.platform,
            repair=native.records_repair(record.toolchain),
        )  # fmt: skip
        if built.wheel_sha256 != record.wheel_sha256:
            raise _not_reproduced(file, record, built)
        return wheel
    with cache.filelock(f"built-{file.sha256}"):
        existing = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
        if existing:
            return existing[0]
        with tempfile.TemporaryDirectory(
            prefix=debris.tree_prefix("sdist"), dir=cache.tmp_dir
        ) as tmp:
            console.info(f"building {file.filename} into a wheel")
            with index_access(index_urls) as (options, env):  # credentials in a 0600 file, not argv
                command = [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--no-deps",
                    "--quiet",
                    "--wheel-dir",
                    tmp,
                    *options,
                    str(sdist),
                ]
                result = subprocess.run(
                    command, env=env, capture_output=True, text=True, check=False
                )
            wheels = sorted(Path(tmp).glob("*.whl"))
            if result.returncode != 0 or not wheels:
                detail = console.redact((result.stderr.strip().splitlines() or ["no output"])[-1])[
                    :300
                ]
                raise EnvctlError(f"building a wheel from {file.filename} failed: {detail}")
            if not is_pure_wheel(wheels[0]):
                raise _refusal(file, f"the build produced {wheels[0].name}")
            with atomic_path(out_dir / wheels[0].name) as target:
                target.write_bytes(wheels[0].read_bytes())
        return out_dir / wheels[0].name


class NotReproduced(EnvctlError):
    """Compiling a locked sdist gave other bytes than the lock's build provenance records."""


def _not_reproduced(file: LockedFile, record: NativeBuild, built: NativeBuild) -> EnvctlError:
    """The lock recorded other bytes for this sdist: say which toolchain parts differ."""
    keys = {**record.toolchain, **built.toolchain}
    changed = sorted(k for k in keys if record.toolchain.get(k) != built.toolchain.get(k))
    why = f"the toolchain differs ({', '.join(changed)})" if changed else "same toolchain"
    return NotReproduced(
        f"compiling {file.filename} gave {built.wheel} with sha256 {built.wheel_sha256}, but the "
        f"lock records {record.wheel_sha256} ({why}); run 'envctl lock' to record this build"
    )


def build_native(
    sdist: Path,
    file: LockedFile,
    cache: Cache,
    index_urls: Sequence[str],
    *,
    python: str,
    platform: str,
    repair: bool = True,
) -> tuple[Path, NativeBuild]:
    """Compile ``sdist`` for CPython ``python`` on ``platform``: the wheel and its provenance.

    Cached by the sdist's sha256, the target and the toolchain (tool versions and flags), so
    only the same inputs reuse a wheel; the first build for a target also fills zig's own
    cache (``ENVCTL_ZIG_CACHE``), which is what makes a cold build take a minute or two.
    """
    native.require_tools()  # before the interpreter: the more common thing to be missing
    interpreter = native.target_interpreter(python)
    toolchain = native.toolchain_versions(interpreter, platform, repair=repair)
    key = sha256_json({"sdist": file.sha256, "platform": platform, "toolchain": toolchain})
    out_dir = cache.native_wheel_dir(key)
    meta_path = out_dir / "build.json"
    with cache.filelock(f"native-{key}"):
        meta = cache.read_json(meta_path)
        if meta is not None and (out_dir / str(meta.get("wheel"))).is_file():
            record = NativeBuild.from_toml(meta, str(meta_path))
            return out_dir / record.wheel, record
        console.info(f"compiling {file.filename} for {interpreter.python_tag}-{platform} with zig")
        with tempfile.TemporaryDirectory(
            prefix=debris.tree_prefix("native"), dir=cache.tmp_dir
        ) as tmp:
            built = native.build_native_wheel(
                sdist, interpreter, platform, Path(tmp), repair=repair, index_urls=index_urls
            )
            record = NativeBuild(
                name=file.name,
                version=file.version,
                sdist_sha256=file.sha256,
                wheel=built.path.name,
                wheel_sha256=built.sha256,
                platform_tag=built.platform_tag,
                toolchain=built.toolchain,
            )
            with atomic_path(out_dir / built.path.name) as target:
                target.write_bytes(built.path.read_bytes())
        write_json_atomic(meta_path, record.to_toml())
        vendored = ", ".join(built.vendored) or "none"
        console.debug(f"compiled {built.path.name} in {built.seconds:.1f}s (vendored: {vendored})")
    return out_dir / record.wheel, record


def record_native_builds(env: Environment, lock: Lock, *, cache: Optional[Cache] = None) -> Lock:
    """``lock`` with the provenance of every sdist with compiled code in it (``envctl lock``).

    Each such sdist is downloaded and compiled now (or taken from the cache), so the lock
    that is reviewed says which wheel its archive will hold; sdists the resolver already
    found pure (``Lock.pure_sdists``) are not downloaded again to check. Without the
    ``envctl[native]``
    tools this is the refusal envctl always gave, plus how to install them.
    """
    sdists = [f for f in lock.packages if not f.is_wheel and f.sha256 not in lock.pure_sdists]
    if not sdists:
        return replace(lock, builds=())
    cache = cache or Cache.default()
    urls = spec_index_urls(env)
    credentials = requirements_and_credentials(env)[1]  # direct URLs' userinfo, as builds use
    paths = fetch(sdists, cache, index_urls=[*urls, *credentials], progress=False)
    builds = []
    for file in sdists:
        found = native_sources(sdist_members(paths[file.sha256]))
        if not found:
            continue
        missing = native.missing_tools()
        if missing:
            raise _refusal(
                file, describe_sources(found),
                advice=f" without {', '.join(missing)} (install them with: {native.INSTALL_HINT})",
            )  # fmt: skip
        _, record = build_native(
            paths[file.sha256], file, cache, urls,
            python=lock.python, platform=lock.platform, repair=env.audit_wheel,
        )  # fmt: skip
        builds.append(record)
    return replace(lock, builds=tuple(sorted(builds, key=lambda b: b.name)))
