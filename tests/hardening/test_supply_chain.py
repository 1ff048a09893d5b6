"""Supply chain: every downloaded file is hash-checked, sdists only as the spec allows, no corrupt
cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.deploy.observe import read_state
from envctl.lock.lockfile import read_lock
from envctl.targets import Target
from envctl.testing.index import LocalIndex
from envctl.testing.wheels import STANDARD_DISTS
from tests.hardening.helpers import Repo, lock_all, run, write_spec


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("envctl: ")]
    assert len(lines) == 1 and lines[0].startswith("envctl: error: "), err
    return lines[0]


@pytest.mark.parametrize("target_url", ["local"], indirect=True)
def test_wheel_tampered_after_locking_fails_the_apply_naming_it_and_caches_nothing(
    repo: Repo, target: Target, tmp_path: Path, envctl_cache, capsys
) -> None:
    with LocalIndex.create(tmp_path / "index", STANDARD_DISTS) as index:
        envdir = repo.root / "environments"
        write_spec(envdir, "nlp", "3.11", "tinypure tinybig", index.url)
        write_spec(envdir, "etl", "3.7", "tinydep", index.url)
        lock_all(repo.root)
        nlp_lock = read_lock(envdir / "pylock.nlp.toml")
        locked = nlp_lock.package("tinypure")
        files = repo.fingerprint()
        wheel = index.file(locked.filename)
        wheel.write_bytes(wheel.read_bytes() + b"\0")  # still a valid zip: only the hash tells

        code, _, err = run(capsys, "apply", "--auto-approve")
    assert code == 1
    line = one_error_line(err)
    assert f"sha256 mismatch for {locked.filename}" in line and locked.sha256 in line
    assert not envctl_cache.file_path(locked.sha256, locked.filename).exists()
    cached = [p.name for p in envctl_cache.root.rglob("*") if p.is_file()]
    assert locked.filename not in cached, "the tampered file reached the cache"
    assert not envctl_cache.archive_path(nlp_lock.lock_hash()).exists()
    assert "nlp" not in read_state(target).environments
    assert repo.fingerprint() == files


@pytest.mark.parametrize("target_url", ["local"], indirect=True)
@pytest.mark.parametrize(
    "requirement, allow_sdist, policy, phrase",
    [
        ("tinysdist", False, "never", "allow_sdist: false"),
        ("tinycext", True, "never", "only an sdist with compiled code"),
        # compiled by default, but its backend skips the C file: never packed as if pure
        ("tinycext", True, "when-no-wheel", "gave the pure wheel"),
    ],
    ids=[
        "pure-sdist-not-allowed",
        "native-sdist-refused-by-policy",
        "native-sdist-that-compiles-nothing",
    ],
)
def test_sdists_are_used_only_when_allowed_and_never_with_compiled_code(
    repo: Repo,
    local_index: LocalIndex,
    capsys,
    requirement: str,
    allow_sdist: bool,
    policy: str,
    phrase: str,
) -> None:
    envdir = repo.root / "environments"
    write_spec(
        envdir,
        "nlp",
        "3.11",
        requirement,
        local_index.url,
        allow_sdist=allow_sdist,
        native_builds=policy,
    )
    code, _, err = run(capsys, "lock", "nlp")
    assert code == 1
    line = one_error_line(err)
    assert requirement in line and phrase in line
    assert read_lock(envdir / "pylock.nlp.toml").package(requirement) is None, (
        "the refused sdist was locked"
    )
