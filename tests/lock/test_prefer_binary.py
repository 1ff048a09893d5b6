"""``prefer_binary`` with pip's meaning: newest wins unless set, native sdists are never picked."""

from __future__ import annotations

import pytest

from envctl.lock.isolation import find_uv
from envctl.lock.lockfile import read_lock

RESOLVERS = [
    "pip",
    pytest.param("uv", marks=pytest.mark.skipif(find_uv() is None, reason="uv not installed")),
]


def _locked(project, name="demo"):
    return read_lock(project.lock_path(name))


def test_newer_pure_sdist_wins_over_an_older_wheel_by_default(project):
    project.spec("demo", "3.11", ["tinyfresh"])
    assert project.run("lock", "demo") == 0
    fresh = _locked(project).package("tinyfresh")
    assert (fresh.version, fresh.kind) == ("2.0", "sdist")


def test_uv_requested_with_default_prefer_binary_resolves_with_pip(project, capsys):
    if find_uv() is None:
        pytest.skip("uv not installed")
    project.spec("demo", "3.11", ["tinyfresh"])
    assert project.run("lock", "demo", "--resolver", "uv") == 0
    lock = _locked(project)
    assert lock.package("tinyfresh").version == "2.0" and lock.resolver == "pip"
    assert "uv cannot prefer a newer pure-Python sdist" in capsys.readouterr().err


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_prefer_binary_picks_the_older_wheel(project, resolver, capsys):
    project.spec("demo", "3.11", ["tinyfresh tinypure"], prefer_binary=True)
    assert project.run("lock", "demo", "--resolver", resolver) == 0
    lock = _locked(project)
    fresh = lock.package("tinyfresh")
    assert (fresh.version, fresh.kind) == ("1.0", "wheel") and lock.resolver == resolver
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_prefer_binary_still_uses_an_sdist_when_no_wheel_exists(project, resolver):
    project.spec("demo", "3.11", ["tinyfresh tinysdist"], prefer_binary=True)
    assert project.run("lock", "demo", "--resolver", resolver) == 0
    lock = _locked(project)
    assert lock.package("tinysdist").kind == "sdist" and lock.package("tinyfresh").version == "1.0"
    assert lock.resolver == "pip"  # uv resolves wheels only, so pip took over


def test_newer_native_sdist_warns_and_locks_the_older_wheel(project, capsys):
    project.spec("demo", "3.11", ["tinyaccel tinypure"])
    assert project.run("lock", "demo") == 0
    accel = _locked(project).package("tinyaccel")
    assert (accel.version, accel.kind) == ("1.0", "wheel")
    err = " ".join(capsys.readouterr().err.split())
    assert (
        "tinyaccel 2.0 ships only an sdist with native code for cp311-manylinux2014_x86_64; "
        "locked 1.0, the newest with a wheel. "
        "Set prefer_binary: true or pin tinyaccel to silence this." in err
    )


def test_native_sdist_fallback_applies_preference_to_the_whole_environment(project, capsys):
    project.spec("demo", "3.11", ["tinyaccel tinyfresh"])
    assert project.run("lock", "demo") == 0
    lock = _locked(project)
    assert lock.package("tinyaccel").version == "1.0" and lock.package("tinyfresh").version == "1.0"
    assert "tinyaccel 2.0 ships only an sdist with native code" in capsys.readouterr().err


def test_pinning_the_wheel_version_silences_the_warning(project, capsys):
    project.spec("demo", "3.11", ["tinyaccel==1.0 tinyfresh"])
    assert project.run("lock", "demo") == 0
    lock = _locked(project)
    assert lock.package("tinyaccel").version == "1.0" and lock.package("tinyfresh").version == "2.0"
    assert "native code" not in capsys.readouterr().err


@pytest.mark.parametrize("prefer_binary", [False, True])
def test_native_only_sdist_fails_the_lock_with_advice(project, capsys, prefer_binary):
    """With ``native_builds: never`` (the default compiles it: tests/build/test_native.py)."""
    project.spec(
        "demo", "3.11", ["tinycext tinypure"], prefer_binary=prefer_binary, native_builds="never"
    )
    assert project.run("lock", "demo") == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(
        "envctl: error: tinycext 1.0 ships only an sdist with compiled code (src/_speedups.c)"
    )
    assert "for cp311-manylinux2014_x86_64" in err and "Pin tinycext" in err
    assert not project.lock_path("demo").exists()


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_wheels_only_spec_names_allow_sdist_when_only_an_sdist_fits(project, capsys, resolver):
    project.spec("demo", "3.11", ["tinysdist tinypure"], allow_sdist=False)
    assert project.run("lock", "demo", "--resolver", resolver) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("envctl: error: tinysdist 1.0 has no wheel for CPython 3.11.9")
    assert "allow_sdist: false" in err


def test_resolving_again_preferring_wheels_reuses_the_sdist_metadata_pip_built(tmp_path):
    """pip's second run (after a native sdist) does not build a pure sdist's metadata again."""
    from envctl.lock.resolve import resolve_environment
    from envctl.spec.loader import Environment
    from envctl.testing.index import LocalIndex
    from envctl.testing.wheels import STANDARD_DISTS, Dist

    log = tmp_path / "backend-imports.txt"
    counted = Dist(
        "tinycount",
        "1.0",
        {"tinycount/__init__.py": ""},
        tags=(),
        sdist=True,
        backend_prelude=f"open({str(log)!r}, 'a').write('import\\n')\n",
    )
    accel = [d for d in STANDARD_DISTS if d.name == "tinyaccel"]
    with LocalIndex.create(tmp_path / "index", (counted, *accel)) as served:

        def imports(*requirements: str) -> int:
            log.unlink(missing_ok=True)
            env = Environment(
                name="demo", python="3.11", requirements=requirements, index_url=served.url
            )
            lock = resolve_environment(env, resolver="pip")
            assert lock.package("tinycount").kind == "sdist"
            return len(log.read_text().splitlines())

        once = imports("tinycount")
        assert imports("tinycount", "tinyaccel") == once  # two pip runs, one metadata build
