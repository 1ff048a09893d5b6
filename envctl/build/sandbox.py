"""An isolated interpreter for an unpacked archive: what ``envctl exec`` and ``verify`` run.

The cluster imports a UDF with the stdlib, the archive's ``packages/`` and the packages its
image provides, nothing else. Locally the same holds only if the developer's site-packages
(a venv's, pyenv's, Debian's ``dist-packages``, the user site) are out of reach, so both
commands run a throwaway venv made from the *base* CPython (``--without-pip``, no system
site-packages) whose single ``.pth`` file adds, as site dirs (their own ``.pth`` files are
processed, as on the cluster):

* the archive's ``packages/``;
* ``provided/``: links to the distributions the spec ``exclude``s (the cluster image provides
  them), taken from the base interpreter's own site-packages when it has them.

``PYTHONPATH``, ``PYTHONHOME`` and ``PYTHONUSERBASE`` from the caller are dropped, since
each would reopen the door. A venv is ~20 files of symlinks and takes well under a second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from envctl.errors import EnvctlError

PTH_NAME = "_envctl_sandbox.pth"
PROVIDED_DIR = "provided"
LEAKY_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONSTARTUP", "VIRTUAL_ENV")
TIMEOUT_S = 120

_SITE_DIRS = "import json, site; print(json.dumps(site.getsitepackages()))"


@dataclass(frozen=True)
class Sandbox:
    """A venv whose only third-party import roots are ``roots``."""

    root: Path
    python: Path
    roots: tuple[Path, ...]

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` without the variables that leak host packages, this venv's ``bin`` first."""
        env = {k: v for k, v in base.items() if k not in LEAKY_VARS}
        env["PATH"] = os.pathsep.join(p for p in (str(self.bin_dir), base.get("PATH", "")) if p)
        env["PYTHONNOUSERSITE"] = "1"
        return env


def create(
    interpreter: Path, roots: Sequence[Path], dest: Path, *, excluded: Sequence[str] = ()
) -> Sandbox:
    """Make the sandbox at ``dest`` (which must not exist) for the base CPython ``interpreter``.

    ``excluded`` distributions found in the interpreter's site-packages are linked under
    ``dest/provided`` and importable too; those it lacks stay missing (``verify`` reports
    modules that need only them as skipped).
    """
    try:
        run = subprocess.run(
            [str(interpreter), "-I", "-m", "venv", "--without-pip", str(dest)],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvctlError(f"cannot create an isolated venv with {interpreter}: {exc}") from None
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]
        raise EnvctlError(f"cannot create an isolated venv with {interpreter}: {last}")
    python = dest / "bin" / "python"
    site_dirs = sorted((dest / "lib").glob("python*/site-packages"))
    if not python.exists() or not site_dirs:
        raise EnvctlError(
            f"{interpreter} made a venv without bin/python or site-packages at {dest}"
        )
    all_roots = list(roots)
    if excluded:
        provided = dest / PROVIDED_DIR
        link_distributions(host_site_dirs(interpreter), excluded, provided)
        all_roots.append(provided)
    lines = [f"import site; site.addsitedir({str(r)!r})" for r in all_roots]
    (site_dirs[0] / PTH_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Sandbox(dest, python, tuple(all_roots))


def cached(
    interpreter: Path, roots: Sequence[Path], parent: Path, *, excluded: Sequence[str] = ()
) -> Sandbox:
    """The sandbox for these inputs under ``parent``, created once (atomically) and reused."""
    import hashlib

    from filelock import FileLock

    key = json.dumps([str(interpreter), [str(r) for r in roots], sorted(excluded)])
    dest = parent / hashlib.sha256(key.encode()).hexdigest()[:24]
    python = dest / "bin" / "python"
    if python.exists():
        return Sandbox(dest, python, tuple(roots) + ((dest / PROVIDED_DIR,) if excluded else ()))
    parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock", timeout=TIMEOUT_S * 2):
        if python.exists():
            return Sandbox(
                dest, python, tuple(roots) + ((dest / PROVIDED_DIR,) if excluded else ())
            )
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=parent))
        try:
            made = create(interpreter, roots, staging / "venv", excluded=excluded)
            # paths inside a venv are found relative to bin/python at run time, so it may move;
            # only the provided/ root is rewritten in the .pth
            text = (next(made.root.glob("lib/python*/site-packages")) / PTH_NAME).read_text("utf-8")
            (next(made.root.glob("lib/python*/site-packages")) / PTH_NAME).write_text(
                text.replace(str(made.root), str(dest)), "utf-8"
            )
            os.replace(made.root, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Sandbox(dest, python, tuple(roots) + ((dest / PROVIDED_DIR,) if excluded else ()))


def host_site_dirs(interpreter: Path) -> list[Path]:
    """The base interpreter's own site-packages directories (where provided packages live)."""
    try:
        run = subprocess.run(
            [str(interpreter), "-I", "-c", _SITE_DIRS],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        return [Path(p) for p in json.loads(run.stdout) if Path(p).is_dir()]
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError):
        return []


def link_distributions(site_dirs: Sequence[Path], names: Sequence[str], dest: Path) -> list[str]:
    """Symlink the files of the distributions ``names`` (from ``site_dirs``) into ``dest``.

    Only top-level entries listed in each distribution's ``RECORD`` are linked, so nothing
    else of that site-packages becomes importable. Returns the distributions linked.
    """
    wanted = {canonicalize_name(n) for n in names}
    dest.mkdir(parents=True, exist_ok=True)
    linked: list[str] = []
    for site_dir in site_dirs:
        for dist_info in sorted(site_dir.glob("*.dist-info")):
            name = canonicalize_name(dist_info.name[: -len(".dist-info")].rsplit("-", 1)[0])
            record = dist_info / "RECORD"
            if name not in wanted or name in linked or not record.is_file():
                continue
            heads = {dist_info.name}
            for line in record.read_text(encoding="utf-8").splitlines():
                head = line.rsplit(",", 2)[0].strip('"').split("/", 1)[0]
                if head and head not in ("..", "__pycache__") and not head.endswith(".pth"):
                    heads.add(head)
            for head in sorted(heads):
                source, link = site_dir / head, dest / head
                if source.exists() and not os.path.lexists(link):
                    link.symlink_to(source)
            linked.append(name)
    return linked


_PYTHON_COMMAND = re.compile(r"^python(3(\.\d+)?)?$")


def replace_python(argv: Sequence[str], sandbox: Sandbox) -> list[str]:
    """``argv`` with a leading ``python``/``python3``/``python3.X`` replaced by the sandbox's."""
    out = list(argv)
    if out and _PYTHON_COMMAND.match(out[0]):
        out[0] = str(sandbox.python)
    return out
