"""PEP 751 lock files: round trip, determinism, staleness, corruption, resolver-independence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from packaging.pylock import Pylock

from envctl.errors import EnvctlError
from envctl.lock.lockfile import (
    Lock,
    LockedFile,
    dumps,
    inputs_hash,
    is_current,
    read_lock,
    same_lock_text,
    tomllib,
    write_lock,
)
from envctl.spec.loader import Environment

ENV = Environment(name="demo", python="3.11", requirements=("tinypure",))
WHEEL = LockedFile(
    "tinypure",
    "1.0",
    "tinypure-1.0-py3-none-any.whl",
    "http://x/tinypure-1.0-py3-none-any.whl",
    "a" * 64,
    10,
    "wheel",
)
SDIST = LockedFile(
    "tinysdist",
    "1.0",
    "tinysdist-1.0.tar.gz",
    "http://x/tinysdist-1.0.tar.gz",
    "b" * 64,
    None,
    "sdist",
)
LOCK = Lock(
    "demo", "3.11.9", "manylinux2014_x86_64", inputs_hash(ENV), (WHEEL, SDIST), (("numpy", "1.0"),)
)


def test_lock_round_trips_and_is_pep751_shaped(tmp_path: Path):
    path = tmp_path / "pylock.demo.toml"
    write_lock(path, LOCK)
    data = tomllib.loads(path.read_text())
    assert data["lock-version"] == "1.0" and data["created-by"] == "envctl"
    assert data["requires-python"] == "==3.11.9"
    wheel = data["packages"][0]["wheels"][0]
    assert wheel["hashes"] == {"sha256": "a" * 64} and wheel["url"].endswith(".whl")
    assert data["packages"][1]["sdist"]["name"] == "tinysdist-1.0.tar.gz"
    assert data["tool"]["envctl"]["excluded"] == [{"name": "numpy", "version": "1.0"}]
    assert read_lock(path) == LOCK


def test_output_is_independent_of_package_order():
    reordered = Lock(
        LOCK.environment,
        LOCK.python,
        LOCK.platform,
        LOCK.inputs_hash,
        (SDIST, WHEEL),
        LOCK.excluded,
    )
    assert dumps(reordered) == dumps(LOCK)
    assert reordered.lock_hash() == LOCK.lock_hash()


def test_lock_is_stale_when_the_spec_changes():
    assert is_current(ENV, LOCK)
    changed = Environment(name="demo", python="3.11", requirements=("tinypure", "tinydep"))
    assert not is_current(changed, LOCK)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not = [toml", "not valid TOML"),
        ('lock-version = "9.0"\n', "unsupported lock-version"),
        ('lock-version = "1.0"\ncreated-by = "x"\npackages = []\n', "no [tool.envctl] table"),
        ('lock-version = "1.0"\n', "not a valid PEP 751 lock"),
        (
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nversion = "1"\n',
            "not a valid PEP 751 lock",
        ),
    ],
)
def test_corrupt_lock_is_a_one_line_error_naming_the_file(tmp_path: Path, text: str, message: str):
    path = tmp_path / "pylock.demo.toml"
    path.write_text(text)
    with pytest.raises(EnvctlError, match="corrupt lock file") as info:
        read_lock(path)
    assert (
        message in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)
    )


def test_hand_edited_hash_is_detected(tmp_path: Path):
    path = tmp_path / "pylock.demo.toml"
    write_lock(path, LOCK)
    path.write_text(path.read_text().replace("a" * 64, "c" * 64))
    with pytest.raises(EnvctlError, match="lock-hash does not match"):
        read_lock(path)


def test_resolver_and_sizes_are_recorded_but_not_a_difference():
    by_uv = replace(
        LOCK, resolver="uv", packages=(replace(WHEEL, size=None), replace(SDIST, size=123))
    )
    assert 'resolver = "uv"' in dumps(by_uv) and "size = 123" in dumps(by_uv)
    assert by_uv.lock_hash() == LOCK.lock_hash()
    assert same_lock_text(dumps(LOCK), by_uv) and same_lock_text(dumps(by_uv), LOCK)
    assert not same_lock_text(dumps(LOCK), replace(LOCK, excluded=()))
    assert not same_lock_text(
        dumps(LOCK), replace(LOCK, packages=(replace(WHEEL, url="http://y/t.whl"), SDIST))
    )


def test_missing_corrupt_or_hand_formatted_lock_text_is_rewritten():
    assert not same_lock_text(None, LOCK) and not same_lock_text("not toml [", LOCK)
    assert not same_lock_text(dumps(LOCK).replace("\n\n", "\n\n\n", 1), LOCK)


def test_every_committed_lock_is_valid_pep751_as_packaging_reads_it() -> None:
    locks = sorted((Path(__file__).parents[2] / "environments").glob("pylock.*.toml"))
    assert locks
    for path in locks:
        pylock = Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
        pylock.validate()
        assert {p.name for p in pylock.packages} == {p.name for p in read_lock(path).packages}


def test_written_lock_round_trips_through_packaging_pylock(tmp_path: Path) -> None:
    lock = LOCK  # a wheel, an sdist and an excluded package
    path = tmp_path / "pylock.x.toml"
    write_lock(path, lock)
    pylock = Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
    pylock.validate()
    by_name = {p.name: p for p in pylock.packages}
    for file in lock.packages:
        entry = by_name[file.name]
        assert str(entry.version) == file.version
        artifact = entry.wheels[0] if file.is_wheel else entry.sdist
        assert artifact is not None and artifact.hashes == {"sha256": file.sha256}
        assert artifact.url == file.url
    assert read_lock(path) == lock


def test_a_lock_without_packages_is_still_valid_pep751(tmp_path: Path) -> None:
    empty = replace(LOCK, packages=(), excluded=())
    path = tmp_path / "pylock.empty.toml"
    write_lock(path, empty)
    Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8"))).validate()
    assert read_lock(path) == empty


def test_native_build_provenance_round_trips_and_keys_the_archive(tmp_path: Path) -> None:
    """[tool.envctl] builds: valid PEP 751, read back equal, part of the lock hash only when
    present.
    """
    from envctl.lock.lockfile import NativeBuild

    build = NativeBuild(
        "tinysdist", "1.0", SDIST.sha256, "tinysdist-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "c" * 64, "manylinux_2_17_x86_64",
        {"zig": "0.17.1", "flags": "zig cc -target x86_64-linux-gnu.2.17"},
    )  # fmt: skip
    built = replace(LOCK, builds=(build,))
    path = tmp_path / "pylock.demo.toml"
    write_lock(path, built)  # checked against packaging.pylock on write and on read
    assert read_lock(path) == built and read_lock(path).build_of(SDIST) == build
    Pylock.from_dict(tomllib.loads(path.read_text())).validate()
    assert built.lock_hash() != LOCK.lock_hash()
    assert (
        replace(built, builds=(replace(build, wheel_sha256="d" * 64),)).lock_hash()
        != built.lock_hash()
    )
    assert (
        replace(built, builds=(replace(build, toolchain={"zig": "0.18"}),)).lock_hash()
        != built.lock_hash()
    )
    assert "builds" not in dumps(LOCK) and not same_lock_text(dumps(LOCK), built)
