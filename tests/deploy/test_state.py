"""``State.from_bytes`` accepts exactly what envctl writes; any other field value is corruption."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from envctl.deploy.state import State, VersionInfo, archive_name
from envctl.errors import EnvctlError

SHA = hashlib.sha256(b"archive").hexdigest()
GOOD = VersionInfo(
    environment="nlp", version=1, resource=archive_name("nlp", SHA), sha256=SHA,
    md5=hashlib.md5(b"archive").hexdigest(), size=10, lock_hash="a" * 64, python="3.11.9",
    platform="manylinux2014_x86_64", packages=(("six", "1.17.0"),), created=1.0,
    git_commit="0123abc",
)  # fmt: skip


def state_bytes(**changes: Any) -> bytes:
    version = {**GOOD.to_json(), **changes}
    return json.dumps(
        {"format": 1, "serial": 1, "environments": {"nlp": {"current": 1, "versions": [version]}}}
    ).encode()


def test_what_envctl_writes_reads_back() -> None:
    state = State().with_version(GOOD).next_serial()
    assert State.from_bytes(state.to_bytes()) == state


@pytest.mark.parametrize(
    "field, value",
    [
        ("sha256", "../../../../tmp/victim"),
        ("sha256", SHA[:12]),
        ("sha256", SHA.upper()),
        ("md5", "m"),
        ("resource", "envctl-state.json"),
        ("resource", archive_name("other", SHA)),
        ("size", -1),
        ("size", "10"),
        ("version", 0),
        ("version", True),
        ("python", "../../bin/sh"),
        ("platform", "linux/../../x"),
        ("environment", "other"),
        ("packages", [["six\n", "1"]]),
        ("git_commit", "abc\x1b[2J"),
        ("created", -5),
    ],
)
def test_a_tampered_field_is_reported_as_corruption_on_one_line(field: str, value: Any) -> None:
    with pytest.raises(EnvctlError) as caught:
        State.from_bytes(state_bytes(**{field: value}))
    message = str(caught.value)
    assert "envctl-state.json is corrupt" in message and "\n" not in message


def test_an_environment_key_with_control_characters_cannot_break_the_error_line() -> None:
    raw = json.dumps(
        {"format": 1, "serial": 1, "environments": {"x\ny": {"versions": []}}}
    ).encode()
    with pytest.raises(EnvctlError) as caught:
        State.from_bytes(raw)
    assert "\n" not in str(caught.value)


def test_an_unknown_version_key_cannot_break_the_error_line() -> None:
    with pytest.raises(EnvctlError) as caught:
        State.from_bytes(state_bytes(**{"evil\nkey": 1}))
    assert "\n" not in str(caught.value)
