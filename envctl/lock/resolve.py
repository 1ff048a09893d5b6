"""Resolve an environment for its target interpreter into a ``Lock`` (the network step).

pip is the resolver of record (through ``envctl.lock.pip_driver`` so markers and
Requires-Python are evaluated for the target). By default, when uv is installed, uv resolves
(wheels only) and ``envctl.lock.pip_rules`` verifies in process that its answer is pip's; pip
resolves only when that cannot be confirmed. ``--resolver pip`` always runs pip; ``--resolver
uv`` takes uv's answer unverified where it is pip's by construction. Everything runs isolated
from the user's pip/uv configuration. Why and how binary preference works: docs/design.md,
"Locking: two resolvers".
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from envctl import console, settings, timings
from envctl.errors import EnvctlError
from envctl.lock.isolation import find_uv, index_access
from envctl.lock.lockfile import Lock, LockedFile, inputs_hash, parse_toml
from envctl.lock.native import describe_sources, unbuildable_sources
from envctl.lock.pip_driver import BUILDABLE_NATIVE, METADATA_CACHE, NATIVE_REPORT
from envctl.lock.target_python import TargetPython
from envctl.spec.indexes import index_urls, requirements_and_credentials, strip_auth
from envctl.spec.loader import Environment

RESOLVERS = ("pip", "uv")


@dataclass(frozen=True)
class Candidate:
    """A resolved package version and every file the index offered for it."""

    name: str
    version: str
    files: tuple[LockedFile, ...]
    pure_sdist: bool = False  # its sdist was unpacked while resolving: no compiled code in it


def choose_file(candidate: Candidate, target: TargetPython, allow_sdist: bool) -> LockedFile:
    """The best wheel for the target, else the sdist (when allowed), else a clear error."""
    wheels = [f for f in candidate.files if f.is_wheel and target.supports_wheel(f.filename)]
    if wheels:
        return max(wheels, key=lambda f: (target.wheel_rank(f.filename), f.filename))
    sdists = [f for f in candidate.files if f.kind == "sdist"]
    where = f"CPython {target.version} on {target.platform}"
    if sdists and allow_sdist:
        return sdists[0]
    if sdists:
        raise EnvctlError(
            f"{candidate.name} {candidate.version} has no wheel for {where} "
            "and the spec sets allow_sdist: false; "
            "pin a version that ships wheels or allow pure-Python sdists"
        )
    raise EnvctlError(
        f"{candidate.name} {candidate.version} has no wheel for {where}; "
        "pin a version that ships one"
    )


VERIFIED = "uv+pip-rules"
"""The default when uv is installed: uv's answer, verified against pip's rules (else pip's)."""


def pick_resolver(env: Environment, requested: Optional[str] = None) -> str:
    """``requested`` or ``$ENVCTL_RESOLVER``, else ``VERIFIED`` with uv installed, else pip."""
    choice = requested or settings.RESOLVER.get()
    if choice is None:
        return VERIFIED if find_uv() is not None else "pip"
    if choice not in RESOLVERS:
        raise EnvctlError(f"unknown resolver {choice!r}; use one of: {', '.join(RESOLVERS)}")
    if choice == "uv" and find_uv() is None:
        raise EnvctlError(
            "resolver 'uv' requested but uv is not installed (pip install 'envctl[fast]')"
        )
    return choice


def uv_gives_pip_answer(env: Environment) -> bool:
    """Can a wheels-only uv resolution stand in for pip's under the spec's binary preference?"""
    return env.prefer_binary or not env.allow_sdist


def resolve_environment(
    env: Environment,
    *,
    resolver: Optional[str] = None,
    constraints: Sequence[str] = (),
    early_sdists: Optional[Callable[[LockedFile], None]] = None,
) -> Lock:
    """Resolve ``env`` for its target interpreter and platform; the result lists hashes for all.

    ``constraints`` (PEP 508 lines such as ``name==1.0``) limit versions without adding
    packages: ``envctl.lock.relock`` passes the previous lock's pins this way.
    ``early_sdists`` is called, while resolving, with the sdists the lock will most likely
    hold (required packages without wheels), so a caller can start building them; a guess
    that turns out wrong costs only that work.
    """
    target = TargetPython.of(env.python, env.platform)
    if not env.requirements:
        return Lock(env.name, target.version, target.platform, inputs_hash(env), (), (), "none")
    which = pick_resolver(env, resolver)
    if which == "uv" and not uv_gives_pip_answer(env):
        console.info(
            f"{env.name}: uv cannot prefer a newer pure-Python sdist over an older wheel "
            "(prefer_binary: false); resolving with pip"
        )
        which = "pip"
    console.debug(
        f"resolving {env.name} for CPython {target.version} {target.platform} with {which}"
    )
    try:
        which, candidates = _candidates(env, target, which, tuple(constraints), early_sdists)
    except EnvctlError:
        if not env.allow_sdist:
            _explain_wheels_only_failure(env, target)
        raise
    packed: list[LockedFile] = []
    excluded: list[tuple[str, str]] = []
    pure: set[str] = set()
    for candidate in candidates:
        if candidate.name in env.exclude:
            excluded.append((candidate.name, candidate.version))
        else:
            packed.append(choose_file(candidate, target, env.allow_sdist))
            if candidate.pure_sdist and not packed[-1].is_wheel:
                pure.add(packed[-1].sha256)
    if not packed and not excluded:
        console.warn(
            f"{env.name}: none of its requirements applies to CPython {target.version} on "
            f"{target.platform} "
            "(every environment marker is false there); the lock is empty and will not build"
        )
    return Lock(
        environment=env.name,
        python=target.version,
        platform=target.platform,
        inputs_hash=inputs_hash(env),
        packages=tuple(sorted(packed, key=lambda f: f.name)),
        excluded=tuple(sorted(excluded)),
        resolver=which,
        pure_sdists=frozenset(pure),
    )


def _candidates(
    env: Environment,
    target: TargetPython,
    which: str,
    constraints: tuple[str, ...] = (),
    early_sdists: Optional[Callable[[LockedFile], None]] = None,
) -> tuple[str, list[Candidate]]:
    """(resolver that answered, resolution); uv hands over to pip when it needs sdists."""
    if which == "pip":
        return which, _resolve_pip(env, target, constraints)
    if which == VERIFIED:
        return _resolve_verified(env, target, constraints, early_sdists)
    try:
        return which, _resolve_uv(env, target, constraints)
    except EnvctlError:
        if not env.allow_sdist:
            raise
        console.debug("uv found no wheel-only resolution; resolving with pip, which can use sdists")
        return "pip", _resolve_pip(env, target, constraints)


def _explain_wheels_only_failure(env: Environment, target: TargetPython) -> None:
    """A wheels-only resolution failed: if sdists would have resolved it, say allow_sdist is why."""
    try:
        candidates = _run_pip(replace(env, allow_sdist=True), target, prefer_binary=True)
    except (EnvctlError, NativeSdist):
        return  # sdists would not help either: the resolver's own message stands
    for candidate in candidates:
        choose_file(candidate, target, allow_sdist=False)  # raises, naming the sdist-only package


# ---------------------------------------------------------------------------------------------
# pip


def _filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _kind(filename: str) -> str:
    return "wheel" if filename.endswith(".whl") else "sdist"


def _run(command: list[str], what: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    console.debug("running " + " ".join(command))
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise EnvctlError(f"cannot run {what}: {exc}") from None
    if result.returncode != 0:
        details = _error_summary(result.stderr + "\n" + (result.stdout or ""))
        raise EnvctlError(f"{what} failed to resolve the requirements: {details}")
    return result


CONFLICT_HEADER = "The conflict is caused by:"


def _error_summary(stderr: str) -> str:
    """The lines that explain a resolver failure, joined into one line for the CLI.

    pip's ``The conflict is caused by:`` block (which requirement wants what) is kept whole:
    it is the actual reason, where the ``ResolutionImpossible`` line after it is not.
    """
    raw = stderr.splitlines()
    lines = [line.strip() for line in raw if line.strip()]
    errors = [
        line
        for line in lines
        if line.lower().startswith(("error", "cause", "×", "╰", "because", "hint"))
    ]
    errors = [line for line in errors if "ResolutionImpossible" not in line]
    picked = (errors or lines[-3:])[:4]
    if CONFLICT_HEADER in lines:
        start = raw.index(next(line for line in raw if line.strip() == CONFLICT_HEADER)) + 1
        causes = []
        for line in raw[start:]:
            if not line.strip() or not line.startswith((" ", "\t")):
                break
            causes.append(line.strip())
        picked = [*picked[:1], f"{CONFLICT_HEADER} {'; '.join(causes)}"]
    return console.redact(" ".join(picked))[:1200] or "no details"


def pip_command(
    env: Environment,
    target: TargetPython,
    report: Path,
    workdir: Path,
    *,
    prefer_binary: bool,
    index_options: list[str],
    constraints_file: Optional[Path] = None,
    build_native: bool = False,
    metadata_cache: Optional[Path] = None,
) -> list[str]:
    """The pip driver invocation that resolves ``env`` for ``target`` into ``report``.

    With sdists allowed the driver stops at the first sdist with compiled code (with
    ``build_native``: only at code envctl cannot compile), recording it in
    ``workdir/native.json`` (see ``envctl.lock.pip_driver``); sdist metadata it builds is kept
    in ``metadata_cache`` for the next run. ``index_options`` come from ``index_access`` (no
    credentials on the command line).
    """
    command = [
        sys.executable,
        "-m",
        "envctl.lock.pip_driver",
        json.dumps(target.marker_environment()),
    ]
    if env.allow_sdist:
        command += ["--allow-sdist"] + ([BUILDABLE_NATIVE] if build_native else [])
        if metadata_cache is not None:
            command += [METADATA_CACHE, str(metadata_cache)]
        command += [NATIVE_REPORT, str(workdir / _NATIVE_JSON)]
    command += [
        # not --quiet: pip logs "The conflict is caused by:" at info level (on stdout)
        "install", "--dry-run", "--ignore-installed", "--no-input",
        "--report", str(report), "--target", str(workdir / "target"),
        "--python-version", target.version, "--implementation", "cp", "--abi", target.abi,
    ]  # fmt: skip
    for platform in target.platforms:
        command += ["--platform", platform]
    command += index_options
    if not env.allow_sdist:
        command += ["--only-binary", ":all:"]
    elif prefer_binary:
        command.append("--prefer-binary")
    if env.pre_release:
        command.append("--pre")
    if constraints_file is not None:
        command += ["--constraint", str(constraints_file)]
    return command + requirements_and_credentials(env)[0]


def _pip_candidate(item: dict[str, Any]) -> Candidate:
    name = canonicalize_name(item["metadata"]["name"])
    version = item["metadata"]["version"]
    info = item.get("download_info") or {}
    url = strip_auth(info.get("url", ""))
    archive = info.get("archive_info") or {}
    sha256 = (archive.get("hashes") or {}).get("sha256")
    if not sha256 and str(archive.get("hash", "")).startswith("sha256="):
        sha256 = archive["hash"].split("=", 1)[1]
    filename = _filename(url)
    if not url or not sha256:
        raise EnvctlError(
            f"the index gave no sha256 for {filename or name}; envctl only locks hashed files"
        )
    return Candidate(
        name, version, (LockedFile(name, version, filename, url, sha256, None, _kind(filename)),)
    )


_NATIVE_JSON = "native.json"


class NativeSdist(Exception):
    """pip reached an sdist with compiled code (and stopped before building it)."""

    def __init__(self, name: str, version: str, sources: tuple[str, ...]) -> None:
        super().__init__(f"{name} {version}")
        self.name, self.version, self.sources = name, version, sources


def _constraints_file(directory: Path, constraints: tuple[str, ...]) -> Optional[Path]:
    """``constraints`` written as a pip/uv constraints file in ``directory`` (None when empty)."""
    if not constraints:
        return None
    path = directory / "constraints.txt"
    path.write_text("".join(line + "\n" for line in constraints), encoding="utf-8")
    return path


def _run_pip(
    env: Environment,
    target: TargetPython,
    *,
    prefer_binary: bool,
    constraints: tuple[str, ...] = (),
    build_native: bool = False,
    metadata_cache: Optional[Path] = None,
) -> list[Candidate]:
    """pip's resolution; NativeSdist only when the finished resolution needs an unbuildable sdist.

    A failed resolution is pip's own message (a conflict is a conflict, even if pip looked
    at native sdists on the way).
    """
    with tempfile.TemporaryDirectory(prefix="envctl-resolve-") as tmp:
        report_path, native_path = Path(tmp) / "report.json", Path(tmp) / _NATIVE_JSON
        pinned = _constraints_file(Path(tmp), constraints)
        with index_access(index_urls(env), requirements_and_credentials(env)[1]) as (
            options,
            child_env,
        ):
            command = pip_command(
                env, target, report_path, Path(tmp), prefer_binary=prefer_binary,
                index_options=options, constraints_file=pinned, build_native=build_native,
                metadata_cache=metadata_cache,
            )  # fmt: skip
            _run(command, "pip", child_env)
        report = json.loads(report_path.read_text(encoding="utf-8"))
        natives = (
            [json.loads(line) for line in native_path.read_text(encoding="utf-8").splitlines()]
            if native_path.is_file()
            else []
        )
    seen = report.get("environment", {}).get("python_full_version")
    if seen != target.version:  # the driver's marker patch did not take: never lock wrong markers
        raise EnvctlError(
            f"pip evaluated markers for Python {seen}, not {target.version}; "
            "unsupported pip version?"
        )
    candidates = [_pip_candidate(item) for item in report.get("install", [])]
    chosen = {(c.name, c.version) for c in candidates}
    for native in natives:
        if native["sources"] and (native["name"], native["version"]) in chosen:
            raise NativeSdist(native["name"], native["version"], tuple(native["sources"]))
    pure = {n["filename"] for n in natives if n.get("pure")}
    return [replace(c, pure_sdist=True) if c.files[0].filename in pure else c for c in candidates]


def _wheel_tag(target: TargetPython) -> str:
    return f"cp{target.nodot}-{target.platform}"


def _native_only(native: NativeSdist, target: TargetPython) -> EnvctlError:
    if unbuildable_sources(native.sources):
        return EnvctlError(
            f"{native.name} {native.version} ships only an sdist with compiled code "
            "envctl cannot build "
            f"({describe_sources(unbuildable_sources(native.sources))}: "
            "Fortran, Rust, CUDA, Go, Objective-C, CMake and meson are unsupported) "
            f"for {_wheel_tag(target)}, and no version of it that fits the requirements "
            f"has a wheel. Pin {native.name} to a version that ships manylinux wheels "
            "for the target, or exclude it if the cluster provides it"
        )
    return EnvctlError(
        f"{native.name} {native.version} ships only an sdist with compiled code "
        f"({describe_sources(native.sources)}) for {_wheel_tag(target)}, "
        "and no version of it that fits the requirements has a wheel (resolved with "
        "prefer_binary); it cannot be compiled for the cluster here. "
        f"Pin {native.name} to a version that ships "
        "manylinux wheels for the target, or change the requirement that pulls it in"
    )


def _preferred_instead(
    native: NativeSdist, target: TargetPython, candidates: list[Candidate]
) -> str:
    """The warning when a native sdist was replaced by resolving again with --prefer-binary."""
    chosen = next((c for c in candidates if c.name == native.name), None)
    head = (
        f"{native.name} {native.version} ships only an sdist with native code "
        f"for {_wheel_tag(target)}; "
    )
    if chosen is None:
        middle = f"resolved again preferring wheels, which no longer needs {native.name}. "
    elif chosen.files[0].is_wheel:
        middle = f"locked {chosen.version}, the newest with a wheel. "
    else:
        middle = f"locked {chosen.version} instead. "
    return head + middle + f"Set prefer_binary: true or pin {native.name} to silence this."


def _resolve_pip(
    env: Environment, target: TargetPython, constraints: tuple[str, ...] = ()
) -> list[Candidate]:
    """pip with the spec's binary preference and ``native_builds`` policy.

    ``prefer-newest`` accepts buildable native sdists at once. Otherwise a native sdist means
    resolving again preferring wheels; when that still needs one, ``when-no-wheel`` resolves
    once more accepting it (``envctl.build.native`` compiles it), ``never`` fails. The runs
    share the sdist metadata they build (the driver's ``--metadata-cache``).
    """
    with tempfile.TemporaryDirectory(prefix="envctl-metadata-") as kept:
        run = functools.partial(_run_pip, metadata_cache=Path(kept))
        return _pip_runs(env, target, constraints, run)


def _pip_runs(
    env: Environment,
    target: TargetPython,
    constraints: tuple[str, ...],
    run: Callable[..., list[Candidate]],
) -> list[Candidate]:
    """The runs ``_resolve_pip`` describes; ``run`` is ``_run_pip`` with the shared cache."""
    if env.native_builds == "prefer-newest":
        try:
            return run(
                env,
                target,
                prefer_binary=env.prefer_binary,
                constraints=constraints,
                build_native=True,
            )
        except NativeSdist as native:
            raise _native_only(native, target) from None
    try:
        return run(env, target, prefer_binary=env.prefer_binary, constraints=constraints)
    except NativeSdist as native:
        rejected = native
    if not env.prefer_binary:
        try:
            candidates = run(env, target, prefer_binary=True, constraints=constraints)
        except NativeSdist as native:
            rejected = native
        else:
            console.warn(_preferred_instead(rejected, target, candidates))
            return candidates
    if env.native_builds == "never":
        raise _native_only(rejected, target)
    try:
        candidates = run(
            env, target, prefer_binary=True, constraints=constraints, build_native=True
        )
    except NativeSdist as unbuildable:
        raise _native_only(unbuildable, target) from None
    console.info(
        f"{rejected.name} {rejected.version} has no wheel for {_wheel_tag(target)}; "
        "it will be compiled from its sdist"
    )
    return candidates


def _resolve_verified(
    env: Environment,
    target: TargetPython,
    constraints: tuple[str, ...],
    early_sdists: Optional[Callable[[LockedFile], None]] = None,
) -> tuple[str, list[Candidate]]:
    """uv's answer when ``pip_rules.verify`` confirms pip would give it, else pip's.

    The requirements' index pages are fetched while uv runs; the rest of the verification
    fetches in parallel after. ``-v`` shows why pip had to resolve and where the time went.
    """
    from envctl.lock.pip_rules import IndexClient, Unverified, sdist_only, verify

    requirements = requirements_and_credentials(env)[0]
    client = IndexClient(index_urls(env))
    try:
        names = [n for n in map(_requirement_name, requirements) if n]
        for name in names:
            client.page(name)  # fetched in parallel; verify() reads them again
        try:
            with timings.phase("resolve: uv"), ThreadPoolExecutor(1) as background:
                # Wheels only from the start; again with --no-binary for the required packages
                # that have no wheel, when their pages (fetched meanwhile) say so.
                wheels_only = background.submit(_resolve_uv, env, target, constraints)
                no_binary = (
                    sdist_only(env, target, requirements, client, early_sdists)
                    if env.allow_sdist
                    else []
                )
                if no_binary:
                    candidates = _resolve_uv(env, target, constraints, no_binary)
                else:
                    candidates = wheels_only.result()
            with timings.phase("resolve: verify"):
                chosen = {
                    c.name: (c.version, tuple((f.filename, f.sha256) for f in c.files))
                    for c in candidates
                }
                verified = verify(env, target, requirements, constraints, chosen, client)
        except (EnvctlError, Unverified) as exc:
            console.debug(f"uv's answer is not confirmed to be pip's ({exc}); resolving with pip")
        except Exception as exc:  # noqa: BLE001 - an index serving odd data: pip decides
            reason = f"{type(exc).__name__}: {exc}"
            console.debug(f"uv's answer could not be checked ({reason}); resolving with pip")
        else:
            if verified.newer_natives:  # pip's first resolution would reach and refuse these
                newer = verified.newer_natives[0]
                first = NativeSdist(newer.name, newer.version, newer.evidence)
                console.warn(_preferred_instead(first, target, candidates))
            console.debug("resolved with uv; pip's rules confirm the answer")
            return "uv", [
                replace(c, pure_sdist=any(f.filename in verified.pure_sdists for f in c.files))
                for c in candidates
            ]
    finally:
        client.close()
    with timings.phase("resolve: pip"):
        return "pip", _resolve_pip(env, target, constraints)


def _requirement_name(text: str) -> Optional[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


# ---------------------------------------------------------------------------------------------
# uv


def uv_command(
    uv: str,
    env: Environment,
    target: TargetPython,
    output: Path,
    index_options: list[str],
    constraints_file: Optional[Path] = None,
    no_binary: Sequence[str] = (),
) -> list[str]:
    """The wheels-only ``uv pip compile`` invocation that resolves ``env`` for ``target`` into
    ``output`` (sdists allowed for the ``no_binary`` packages alone).
    """
    command = [
        uv, "pip", "compile", "-", "--format", "pylock.toml", "--output-file", str(output),
        "--python-version", target.version, "--python-platform", target.uv_platform(),
        "--no-config", "--no-header", "--no-annotate", "--quiet",
        "--index-strategy", "unsafe-best-match",
        # Never fetch a managed CPython: the target's markers and tags come from the flags above.
        "--python", sys.executable, "--no-python-downloads",
    ]  # fmt: skip
    command += [*index_options, "--only-binary", ":all:"]
    for name in no_binary:
        command += ["--no-binary", name]
    if env.pre_release:
        command += ["--prerelease", "allow"]
    if constraints_file is not None:
        command += ["--constraint", str(constraints_file)]
    return command


def _uv_files(name: str, version: str, package: dict[str, Any]) -> Iterable[LockedFile]:
    artifacts = [(w, "wheel") for w in package.get("wheels", [])]
    if package.get("sdist"):
        artifacts.append((package["sdist"], "sdist"))
    for artifact, kind in artifacts:
        url = strip_auth(artifact.get("url", ""))
        sha256 = (artifact.get("hashes") or {}).get("sha256")
        if url and sha256:
            yield LockedFile(
                name,
                version,
                artifact.get("name") or _filename(url),
                url,
                sha256,
                artifact.get("size"),
                kind,
            )


def _resolve_uv(
    env: Environment,
    target: TargetPython,
    constraints: tuple[str, ...] = (),
    no_binary: Sequence[str] = (),
) -> list[Candidate]:
    """uv's wheels-only resolution (sdists only for the ``no_binary`` packages)."""
    uv = find_uv()
    assert uv is not None
    with tempfile.TemporaryDirectory(prefix="envctl-resolve-") as tmp:
        output = Path(tmp) / "pylock.toml"
        requirements, credentials = requirements_and_credentials(env)
        pinned = _constraints_file(Path(tmp), constraints)
        with index_access(index_urls(env), credentials) as (options, child_env):
            command = uv_command(uv, env, target, output, options, pinned, no_binary)
            console.debug("running " + " ".join(command))
            result = subprocess.run(
                command,
                input="\n".join(requirements) + "\n",
                env=child_env,
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            raise EnvctlError(
                f"uv failed to resolve the requirements: {_error_summary(result.stderr)}"
            )
        data = parse_toml(output.read_text(encoding="utf-8"))
    candidates = []
    for package in data.get("packages", []):
        if package.get("marker") and not target.evaluate(package["marker"]):
            continue
        name, version = canonicalize_name(package["name"]), package["version"]
        files = tuple(_uv_files(name, version, package))
        if not files:
            raise EnvctlError(
                f"the index gave no sha256 for any file of {name} {version}; "
                "envctl only locks hashed files"
            )
        candidates.append(Candidate(name, version, files))
    return candidates
