"""``envctl lock``: PEP 751 output with hashes, target markers with pip and uv, --check."""

from __future__ import annotations

import json

import pytest

from envctl.errors import EnvctlError
from envctl.lock.isolation import find_uv
from envctl.lock.lockfile import read_lock, tomllib
from envctl.lock.resolve import pick_resolver
from envctl.spec.loader import Environment

RESOLVERS = [
    "pip",
    pytest.param("uv", marks=pytest.mark.skipif(find_uv() is None, reason="uv not installed")),
]


def test_lock_writes_pep751_with_a_hash_for_every_file(project):
    project.spec("demo", "3.11", ["tinychain tinynative"])
    assert project.run("lock", "demo") == 0
    data = tomllib.loads(project.lock_path("demo").read_text())
    names = [p["name"] for p in data["packages"]]
    assert names == sorted(names) == ["tinychain", "tinynative", "tinypure"]
    native = data["packages"][1]["wheels"][0]
    assert "cp311-cp311-manylinux" in native["name"] and len(native["hashes"]["sha256"]) == 64
    assert data["tool"]["envctl"]["python"] == "3.11.9"


@pytest.mark.parametrize("resolver", RESOLVERS)
@pytest.mark.parametrize(("python", "has_dep"), [("3.7", True), ("3.11", False)])
def test_markers_are_evaluated_for_the_target_python(project, resolver, python, has_dep):
    project.spec(
        "demo", python, ["tinychain tinynative"], prefer_binary=True
    )  # uv resolves only these
    assert project.run("lock", "demo", "--resolver", resolver) == 0
    lock = read_lock(project.lock_path("demo"))
    assert (lock.package("tinydep") is not None) is has_dep
    assert lock.resolver == resolver
    assert lock.package("tinynative").filename.startswith(
        f"tinynative-1.0-cp{python.replace('.', '')}-"
    )


def test_relock_without_changes_is_byte_identical(project, capsys):
    project.spec("demo", "3.7", ["tinychain", "tinysdist"])
    assert project.run("lock") == 0
    first = project.lock_path("demo").read_bytes()
    capsys.readouterr()
    assert project.run("lock", "demo") == 0
    assert project.lock_path("demo").read_bytes() == first
    assert "unchanged" in capsys.readouterr().out


def test_excluded_packages_are_resolved_but_not_packed(project):
    project.spec("demo", "3.7", ["tinychain"], exclude=["tinydep"])
    assert project.run("lock", "demo") == 0
    lock = read_lock(project.lock_path("demo"))
    assert lock.package("tinydep") is None
    assert lock.excluded == (("tinydep", "1.0"),)


def test_check_reports_missing_then_current_then_stale_without_network(project, capsys):
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "--check") == 1
    assert "demo: missing" in capsys.readouterr().out
    assert project.run("lock", "demo") == 0
    capsys.readouterr()
    with project.index.stopped():
        assert project.run("lock", "--check", "--format", "json") == 0
        assert json.loads(capsys.readouterr().out)["environments"][0]["status"] == "current"
        project.spec("demo", "3.11", ["tinypure", "tinynative"])
        assert project.run("lock", "--check") == 1
        assert "demo: stale" in capsys.readouterr().out


def test_unknown_environment_is_a_one_line_error(project, capsys):
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demox") == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("envctl: error: no environment named 'demox'")
        and "did you mean 'demo'" in err
    )
    assert "\n" not in err


def test_corrupt_lock_makes_build_fail_with_one_line(project, capsys):
    project.spec("demo", "3.11", ["tinypure"])
    project.lock_path("demo").write_text("lock-version = [broken")
    assert project.run("build", "demo") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("envctl: error: corrupt lock file") and "\n" not in err


def test_unresolvable_requirement_is_a_clear_error(project, capsys):
    project.spec("demo", "3.11", ["tinypure==9.9"])
    assert project.run("lock", "demo", "--resolver", "pip") == 1
    err = capsys.readouterr().err
    assert "envctl: error: pip failed to resolve" in err and "tinypure" in err


@pytest.mark.skipif(find_uv() is None, reason="uv not installed")
def test_relock_with_another_resolver_leaves_an_equivalent_lock_untouched(project, capsys):
    project.spec("demo", "3.7", ["tinychain tinynative"], prefer_binary=True)
    assert project.run("lock", "demo", "--resolver", "pip") == 0
    first = project.lock_path("demo").read_bytes()
    capsys.readouterr()
    assert project.run("lock", "demo", "--resolver", "uv", "--format", "json") == 0
    row = json.loads(capsys.readouterr().out)["environments"][0]
    assert (row["status"], row["resolver"]) == ("unchanged", "uv")
    assert project.lock_path("demo").read_bytes() == first


@pytest.mark.parametrize("resolver", [[], ["--resolver", "pip"]])
@pytest.mark.parametrize(("python", "version"), [("3.7", "2.0"), ("3.11", "1.0")])
def test_requires_python_is_checked_against_the_target_not_the_host(
    project, python, version, resolver
):
    """pip alone checks metadata Requires-Python against the host; uv ignores its upper bounds
    (the default resolver's verification does not)."""
    project.spec("demo", python, ["tinylegacy"], prefer_binary=True)
    assert project.run("lock", "demo", *resolver) == 0
    lock = read_lock(project.lock_path("demo"))
    assert lock.package("tinylegacy").version == version


def test_the_default_resolver_is_uv_verified_by_pips_rules_else_pip(monkeypatch):
    import envctl.lock.resolve

    monkeypatch.delenv("ENVCTL_RESOLVER", raising=False)
    env = Environment(name="demo", python="3.11", requirements=("tinypure",), prefer_binary=True)
    monkeypatch.setattr(envctl.lock.resolve, "find_uv", lambda: "/usr/bin/uv")
    assert pick_resolver(env) == envctl.lock.resolve.VERIFIED
    monkeypatch.setattr(envctl.lock.resolve, "find_uv", lambda: None)
    assert pick_resolver(env) == "pip"
    monkeypatch.setenv("ENVCTL_RESOLVER", "conda")
    with pytest.raises(EnvctlError, match="unknown resolver 'conda'"):
        pick_resolver(env)


def test_lock_says_created_for_a_new_lock_then_unchanged_then_updated(project, capsys):
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demo") == 0
    assert capsys.readouterr().out.startswith("demo: created pylock.demo.toml (1 packages")
    assert project.run("lock", "demo") == 0
    assert capsys.readouterr().out.startswith("demo: unchanged pylock.demo.toml")
    project.spec("demo", "3.11", ["tinypure", "tinydep"])
    assert project.run("lock", "demo", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["environments"][0]["status"] == "updated"
