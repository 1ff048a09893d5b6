"""``envctl build``: layout, reproducibility, cache, hash checks, sdists, size budget."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import zipfile

import pytest

from envctl.build.builder import build, build_requirements
from envctl.build.size import SizeBudget
from envctl.errors import EnvctlError
from envctl.lock.lockfile import Lock, LockedFile, inputs_hash
from envctl.lock.resolve import resolve_environment


def _names(path):
    with tarfile.open(path) as tar:
        return tar.getnames()


def test_archive_has_packages_root_no_bytecode_and_honours_exclude(project, capsys):
    project.spec("demo", "3.7", ["tinychain tinynative tinysdist"], exclude=["tinydep"])
    assert project.run("lock", "demo") == 0
    capsys.readouterr()
    out = project.root / "demo.tar.gz"
    assert project.run("build", "demo", "-o", str(out), "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    names = _names(out)
    assert all(n == "packages" or n.startswith("packages/") for n in names)
    assert {
        "packages/tinychain.py",
        "packages/tinypure/__init__.py",
        "packages/tinysdist/__init__.py",
    } <= set(names)
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert not [n for n in names if "tinydep" in n]
    assert {p["name"] for p in report["packages"]} == {
        "tinychain",
        "tinynative",
        "tinypure",
        "tinysdist",
    }
    with tarfile.open(out) as tar:
        member = tar.getmember("packages/tinychain.py")
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime, member.mode) == (
            0,
            0,
            "",
            "",
            0,
            0o644,
        )


def test_same_lock_gives_byte_identical_archives(local_env, envctl_cache):
    env = local_env("demo", "3.11", "tinychain tinynative tinysdist")
    lock = resolve_environment(env)
    first = build(env, lock, progress=False, cache=envctl_cache)
    data = first.path.read_bytes()
    first.path.unlink()
    envctl_cache.archive_meta_path(first.lock_hash).unlink()
    second = build(env, lock, progress=False, cache=envctl_cache)
    assert not second.cached
    assert second.path.read_bytes() == data and second.sha256 == first.sha256
    assert data[4:8] == b"\0\0\0\0"  # gzip header mtime


def test_warm_build_is_a_cache_hit_without_network(local_env, local_index, envctl_cache):
    env = local_env("demo", "3.11", "tinychain tinynative")
    lock = resolve_environment(env)
    cold = build(env, lock, progress=False, cache=envctl_cache)
    with local_index.stopped():
        warm = build(env, lock, progress=False, cache=envctl_cache)
    assert warm.cached and warm.sha256 == cold.sha256 and warm.path == cold.path


def test_sha256_mismatch_is_a_hard_error_naming_the_file(local_env, envctl_cache):
    env = local_env("demo", "3.11", "tinypure")
    lock = resolve_environment(env)
    wrong = lock.packages[0].__class__(**{**lock.packages[0].__dict__, "sha256": "0" * 64})
    bad = Lock(lock.environment, lock.python, lock.platform, lock.inputs_hash, (wrong,))
    with pytest.raises(EnvctlError, match=r"sha256 mismatch for tinypure-1\.0-py3-none-any\.whl"):
        build(env, bad, progress=False, cache=envctl_cache)
    assert not list((envctl_cache.root / "files").rglob("*.whl"))


def test_pure_sdist_is_built_into_a_cached_wheel(local_env, envctl_cache):
    env = local_env("demo", "3.11", "tinysdist")
    lock = resolve_environment(env)
    assert lock.packages[0].kind == "sdist"
    built = build(env, lock, progress=False, cache=envctl_cache)
    assert "packages/tinysdist/__init__.py" in _names(built.path)
    assert list(
        envctl_cache.built_wheel_dir(lock.packages[0].sha256).glob("tinysdist-1.0-py3-none-any.whl")
    )


def test_native_sdist_in_a_lock_is_refused_at_build_with_advice(
    local_env, local_index, envctl_cache
):
    """Resolution never picks one, but a hand-written or old lock may still list it."""
    env = local_env("demo", "3.11", "tinycext")
    path = local_index.file("tinycext-1.0.tar.gz")
    sdist = LockedFile("tinycext", "1.0", path.name, f"{local_index.url}/../files/{path.name}",
                       hashlib.sha256(path.read_bytes()).hexdigest(), None, "sdist")  # fmt: skip
    lock = Lock(env.name, "3.11.9", env.platform, inputs_hash(env), (sdist,))
    with pytest.raises(
        EnvctlError, match=r"tinycext 1\.0 is only available as an sdist with compiled code"
    ) as info:
        build(env, lock, progress=False, cache=envctl_cache)
    assert "_speedups.c" in str(info.value) and "manylinux wheels" in str(info.value)


def test_clearing_the_built_wheel_cache_gives_the_same_archive(local_env, envctl_cache):
    """The archive holds installed files, not wheels: a wheel rebuilt at another time changes
    nothing.
    """
    env = local_env("demo", "3.11", "tinysdist tinypure")
    lock = resolve_environment(env)
    first = build(env, lock, progress=False, cache=envctl_cache)
    data = first.path.read_bytes()
    built_dir = envctl_cache.built_wheel_dir(lock.package("tinysdist").sha256)
    wheel = next(built_dir.glob("*.whl"))
    _redate_zip(wheel, (2001, 2, 3, 4, 5, 6))  # as if the sdist had been built years ago
    for step in ("redated wheel", "wheel rebuilt from the sdist"):
        first.path.unlink()
        envctl_cache.archive_meta_path(first.lock_hash).unlink()
        again = build(env, lock, progress=False, cache=envctl_cache)
        assert not again.cached and again.path.read_bytes() == data, step
        shutil.rmtree(envctl_cache.root / "built")
    names = _names(first.path)
    assert "packages/tinysdist-1.0.dist-info/RECORD" in names
    assert not [n for n in names if n.endswith("direct_url.json")]


def _redate_zip(path, date_time):
    with zipfile.ZipFile(path) as old:
        entries = [(info.filename, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w") as new:
        for name, content in entries:
            new.writestr(zipfile.ZipInfo(name, date_time), content)


def test_sdists_are_refused_at_lock_time_when_not_allowed(project, capsys):
    project.spec("demo", "3.11", ["tinysdist"], allow_sdist=False)
    assert project.run("lock", "demo") == 1
    assert "tinysdist" in capsys.readouterr().err


def test_stale_lock_is_refused_by_build(project, capsys):
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demo") == 0
    project.spec("demo", "3.11", ["tinypure", "tinynative"])
    assert project.run("build", "demo") == 1
    assert "is stale" in capsys.readouterr().err


def test_size_budget_warns_then_fails_naming_largest_packages(project, capsys):
    project.spec("demo", "3.11", ["tinybig tinypure"])
    assert project.run("lock", "demo") == 0
    assert project.run("build", "demo", "--warn-size-mb", "0.5") == 0
    err = capsys.readouterr().err
    assert "warning" in err and "tinybig" in err
    assert project.run("build", "demo", "--max-size-mb", "0.5") == 1
    err = capsys.readouterr().err
    assert "above the 512.0 KiB limit" in err and "tinybig 1.0 MiB" in err


def test_size_limits_from_environment(monkeypatch):
    monkeypatch.setenv("ENVCTL_MAX_SIZE_MB", "100")
    assert SizeBudget.from_settings().max_bytes == 100 * 1024 * 1024
    monkeypatch.setenv("ENVCTL_MAX_SIZE_MB", "lots")
    with pytest.raises(EnvctlError, match="ENVCTL_MAX_SIZE_MB"):
        SizeBudget.from_settings()


def test_build_requirements_reuses_its_lock_and_archive_offline(local_index, envctl_cache):
    lock, built = build_requirements(
        ["tinychain tinynative"], python="3.7", index_url=local_index.url, cache=envctl_cache
    )
    assert lock.package("tinydep") is not None and not built.cached
    with local_index.stopped():
        again_lock, again = build_requirements(
            ["tinychain tinynative"], python="3.7", index_url=local_index.url, cache=envctl_cache
        )
    assert again.cached and again.sha256 == built.sha256 and again_lock == lock


def test_build_requirements_builds_a_required_sdist_while_the_rest_resolves(
    local_index, envctl_cache, monkeypatch
):
    import threading

    import envctl.build.builder

    real, calls = envctl.build.builder.build_wheel, []

    def spy(*args, **kwargs):
        calls.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(envctl.build.builder, "build_wheel", spy)
    lock, built = build_requirements(
        ["tinysdist tinypure"], python="3.11", index_url=local_index.url, cache=envctl_cache
    )
    assert lock.package("tinysdist").kind == "sdist" and not built.cached
    assert calls[0].startswith("envctl-early")  # then build() finds the wheel in the cache
    assert len(list(envctl_cache.built_wheel_dir(lock.package("tinysdist").sha256).iterdir())) == 1
