"""Prove an archive works: import every top-level module it ships in a target interpreter.

The check runs the *target* CPython minor (a 3.7 archive is imported by a 3.7 interpreter),
found as ``ENVCTL_PYTHON_3_7`` (an explicit path), ``python3.7`` on PATH, or a pyenv-style
install under ``$PYENV_ROOT/versions/3.7.*`` (default ``~/.pyenv``). Without one the result
says so; it is never a silent pass.
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

from envctl.build.archive import extract_archive
from envctl.errors import EnvctlError
from envctl.build.install import PACKAGES_DIR

NO_INTERPRETER_EXIT = 3
TIMEOUT_S = 600
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Runs inside the target interpreter (3.6+): one JSON line per module, so a crash still
# leaves the results so far.
_SCRIPT = r"""
import importlib, json, sys, traceback
sys.path.insert(0, sys.argv[1])
for module in json.loads(sys.argv[2]):
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
    """Where a CPython ``minor`` (e.g. ``"3.7"``) may be, in order of preference."""
    candidates: list[Path] = []
    override = os.environ.get(f"ENVCTL_PYTHON_{minor.replace('.', '_')}")
    if override:
        candidates.append(Path(override))
    on_path = shutil.which(f"python{minor}")
    if on_path:
        candidates.append(Path(on_path))
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if pyenv.is_dir():
        installs = [p for p in pyenv.glob(f"{minor}.*") if re.fullmatch(rf"{re.escape(minor)}\.\d+", p.name)]
        candidates += [p / "bin" / "python" for p in sorted(installs, key=_version_key, reverse=True)]
    return candidates


def find_interpreter(minor: str) -> Optional[Path]:
    """The first candidate that runs and really is CPython ``minor``."""
    for candidate in interpreter_candidates(minor):
        try:
            out = subprocess.run(
                [str(candidate), "-c", "import sys, platform; print('%d.%d' % sys.version_info[:2], platform.python_implementation())"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.split() == [minor, "CPython"]:
            return candidate
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
    return (packages / module).is_dir() or any(packages.glob(f"{module}.py")) or any(packages.glob(f"{module}.*.so")) or any(packages.glob(f"{module}.so"))


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
    interpreter = interpreter or find_interpreter(minor)
    if interpreter is None:
        return VerifyResult(None, ())
    with tempfile.TemporaryDirectory(prefix="envctl-verify-") as tmp:
        extract_archive(archive, Path(tmp))
        packages = Path(tmp) / PACKAGES_DIR
        if not packages.is_dir():
            raise EnvctlError(f"{archive.name} has no {PACKAGES_DIR}/ directory: not an envctl/pyodps-pack archive")
        by_dist = top_level_modules(packages)
        owners = {m: d for d, modules in by_dist.items() for m in modules}
        modules = sorted(owners)
        try:
            run = subprocess.run(
                [str(interpreter), "-s", "-E", "-B", "-c", _SCRIPT, str(packages), json.dumps(modules)],
                capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp, check=False,
            )  # fmt: skip
            stdout, crash = run.stdout, (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]
        except subprocess.TimeoutExpired as exc:
            stdout, crash = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), "timed out"
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
        item = done.get(module) or {"ok": False, "error": f"interpreter stopped before importing it: {crash}"}
        error = str(item.get("error", ""))
        skipped = not item["ok"] and _needs_excluded(error, excluded)
        results.append(ModuleResult(owners[module], module, bool(item["ok"]), error, skipped))
    return VerifyResult(interpreter, tuple(results))
