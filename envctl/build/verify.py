"""Prove an archive works: import every top-level module it ships in a target interpreter.

The check runs the *target* CPython minor (a 3.7 archive is imported by a 3.7 interpreter),
found as ``ENVCTL_PYTHON_3_7`` (an explicit path), a pyenv-style install under
``$PYENV_ROOT/versions/3.7.*`` (default ``~/.pyenv``), or ``python3.7`` on PATH. Whatever is
found is reduced to its *base* CPython (a venv's or a pyenv shim's ``sys.base_prefix``), and
the imports run in an isolated venv made from it (:mod:`envctl.build.sandbox`): only the
stdlib, the archive and the spec's excluded (cluster-provided) packages are importable, so
a dependency missing from the archive fails here as it would on the cluster. Without an
interpreter the result says so; it is never a silent pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from packaging.utils import canonicalize_name

from envctl import settings
from envctl.build import sandbox
from envctl.build.archive import extract_archive
from envctl.build.install import PACKAGES_DIR
from envctl.errors import EnvctlError

NO_INTERPRETER_EXIT = 3
TIMEOUT_S = 600
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Runs inside the target interpreter (3.6+): one JSON line per module, so a crash still
# leaves the results so far.
_SCRIPT = r"""
import importlib, json, sys, traceback
for module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
        result = {"module": module, "ok": True, "error": ""}
    except BaseException as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        result = {"module": module, "ok": False, "error": " ".join(text.split())}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
"""


@dataclass(frozen=True)
class ModuleResult:
    distribution: str
    module: str
    ok: bool
    error: str = ""
    skipped: bool = False  # failed only because an excluded package (cluster-provided) is absent


@dataclass(frozen=True)
class VerifyResult:
    interpreter: Optional[Path]
    results: tuple[ModuleResult, ...]

    @property
    def ok(self) -> bool:
        return self.interpreter is not None and not self.failures

    @property
    def failures(self) -> tuple[ModuleResult, ...]:
        return tuple(r for r in self.results if not r.ok and not r.skipped)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in path.name.split("."))


def interpreter_candidates(minor: str) -> list[Path]:
    """Where a CPython ``minor`` (e.g. ``"3.7"``) may be, in order of preference.

    Bare installs (pyenv's ``versions/``) come before ``python3.X`` on PATH, which is often a
    venv's or a shim; each candidate is reduced to its base interpreter anyway.
    """
    candidates: list[Path] = []
    override = settings.interpreter_override(minor)
    if override:
        candidates.append(override)
    pyenv = (settings.PYENV_ROOT.get() or Path.home() / ".pyenv") / "versions"
    if pyenv.is_dir():
        installs = [
            p for p in pyenv.glob(f"{minor}.*") if re.fullmatch(rf"{re.escape(minor)}\.\d+", p.name)
        ]
        candidates += [
            p / "bin" / f"python{minor}" for p in sorted(installs, key=_version_key, reverse=True)
        ]
    on_path = shutil.which(f"python{minor}")
    if on_path:
        candidates.append(Path(on_path))
    return candidates


# Runs in the candidate: its minor, implementation and base interpreter (outside any venv).
_PROBE = (
    "import os, platform, sys; v = '%d.%d' % sys.version_info[:2]; "
    "b = os.path.join(sys.base_prefix, 'bin', 'python' + v); "
    "print(v, platform.python_implementation(), b if os.access(b, os.X_OK) else sys.executable)"
)


def base_interpreter(candidate: Path, minor: str) -> Path | None:
    """The base CPython ``minor`` behind ``candidate`` (a venv's python, a shim), or None."""
    try:
        out = subprocess.run(
            [str(candidate), "-I", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.stdout.split(maxsplit=2)
    if out.returncode != 0 or len(words) != 3 or words[:2] != [minor, "CPython"]:
        return None
    return Path(words[2].strip())


def find_interpreter(minor: str) -> Path | None:
    """The base interpreter of the first candidate that runs and really is CPython ``minor``."""
    for candidate in interpreter_candidates(minor):
        found = base_interpreter(candidate, minor)
        if found is not None:
            return found
    return None


def _record_modules(record: str) -> set[str]:
    modules = set()
    for line in record.splitlines():
        path = line.rsplit(",", 2)[0].strip('"')
        head = path.split("/", 1)[0]
        if not head or head.endswith((".dist-info", ".data")) or head in ("..", "__pycache__"):
            continue
        if "/" in path:
            modules.add(head)
        elif head.endswith((".py", ".so", ".pyd")):
            modules.add(head.split(".", 1)[0])
    return modules


def top_level_modules(packages: Path) -> dict[str, list[str]]:
    """``{distribution: [importable top-level modules]}`` from top_level.txt, else RECORD."""
    found: dict[str, list[str]] = {}
    for dist_info in sorted(packages.glob("*.dist-info")):
        name = dist_info.name[: -len(".dist-info")].rsplit("-", 1)[0]
        top_level = dist_info / "top_level.txt"
        record = dist_info / "RECORD"
        if top_level.is_file():
            modules = {m.strip() for m in top_level.read_text(encoding="utf-8").splitlines()}
        elif record.is_file():
            modules = _record_modules(record.read_text(encoding="utf-8"))
        else:
            modules = set()
        exists = {m for m in modules if _IDENTIFIER.match(m) and _importable(packages, m)}
        found[name] = sorted(exists)
    return found


def _importable(packages: Path, module: str) -> bool:
    """Names in top_level.txt that the wheel does not actually ship are not checked."""
    return (
        (packages / module).is_dir()
        or any(packages.glob(f"{module}.py"))
        or any(packages.glob(f"{module}.*.so"))
        or any(packages.glob(f"{module}.so"))
    )


_MISSING = re.compile(r"No module named '([^'.]+)")


def _needs_excluded(error: str, excluded: Sequence[str]) -> bool:
    """Did the import fail only for want of an excluded (cluster-provided) package?"""
    missing = _MISSING.findall(error)
    return bool(missing) and all(canonicalize_name(m) in excluded for m in missing)


def verify_archive(
    archive: Path, python: str, *, interpreter: Optional[Path] = None, excluded: Sequence[str] = ()
) -> VerifyResult:
    """Unpack ``archive`` and import each packed top-level module in CPython ``python``.

    Packages the spec excludes (the cluster image provides them) are not in the archive, so a
    module failing only with ``No module named '<excluded>'`` is reported as skipped.
    """
    excluded = [canonicalize_name(e) for e in excluded]
    minor = ".".join(python.split(".")[:2])
    interpreter = (
        find_interpreter(minor)
        if interpreter is None
        else base_interpreter(interpreter, minor) or interpreter
    )
    if interpreter is None:
        return VerifyResult(None, ())
    with tempfile.TemporaryDirectory(prefix="envctl-verify-") as tmp:
        extract_archive(archive, Path(tmp) / "archive")
        packages = Path(tmp) / "archive" / PACKAGES_DIR
        if not packages.is_dir():
            raise EnvctlError(
                f"{archive.name} has no {PACKAGES_DIR}/ directory: "
                "not an envctl/pyodps-pack archive"
            )
        by_dist = top_level_modules(packages)
        owners = {m: d for d, modules in by_dist.items() for m in modules}
        modules = sorted(owners)
        box = sandbox.create(interpreter, [packages], Path(tmp) / "venv", excluded=excluded)
        try:
            run = subprocess.run(
                [str(box.python), "-I", "-B", "-c", _SCRIPT, json.dumps(modules)],
                capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp,
                env=box.env(os.environ), check=False,
            )  # fmt: skip
            stdout, crash = (
                run.stdout,
                (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1],
            )
        except subprocess.TimeoutExpired as exc:
            stdout, crash = (
                (exc.stdout or b"").decode()
                if isinstance(exc.stdout, bytes)
                else (exc.stdout or ""),
                "timed out",
            )
    done = {}
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "module" in item:
            done[item["module"]] = item
    results = []
    for module in modules:
        item = done.get(module) or {
            "ok": False,
            "error": f"interpreter stopped before importing it: {crash}",
        }
        error = str(item.get("error", ""))
        skipped = not item["ok"] and _needs_excluded(error, excluded)
        results.append(ModuleResult(owners[module], module, bool(item["ok"]), error, skipped))
    return VerifyResult(interpreter, tuple(results))
