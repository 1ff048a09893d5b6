"""The Target contract, run identically against the local store and the MaxCompute emulator."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from envctl.deploy.state import PREFIX, TEMP_PREFIX
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest
from envctl.settings import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SECURITY_TOKEN
from envctl.spec.project import Project
from envctl.targets import ObjectExists, ObjectMissing, Target, open_target

OWN = (PREFIX, TEMP_PREFIX)


def test_put_file_streams_and_verifies_then_lists_and_downloads(
    target: Target, tmp_path: Path
) -> None:
    data = os.urandom(300 * 1024)  # several 64 KiB parts on odps
    src = tmp_path / "a.tar.gz"
    src.write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    seen: list[int] = []
    info = target.put_file("envctl-a-000000000001.tar.gz", src, md5=md5, progress=seen.append)
    assert info.size == len(data) and sum(seen) >= len(data)
    assert target.stat("envctl-a-000000000001.tar.gz").md5 == md5
    assert [i.name for i in target.list("envctl-a-")] == ["envctl-a-000000000001.tar.gz"]
    target.download("envctl-a-000000000001.tar.gz", tmp_path / "back" / "a.tar.gz")
    assert (tmp_path / "back" / "a.tar.gz").read_bytes() == data


def test_finished_writes_and_foreign_parts_are_not_leftovers_and_delete_leftover_refuses_objects(
    target: Target, tmp_path: Path
) -> None:
    src = tmp_path / "a.tar.gz"
    src.write_bytes(os.urandom(200 * 1024))  # several parts on odps, merged and removed
    target.put_file("envctl-a-000000000002.tar.gz", src, md5=file_hexdigest(src, "md5"))
    target.put_bytes("envctl-state.json", b"{}")
    target.put_bytes("other-tool.tar.gz.part.tmp.000001.000000", b"not ours")
    assert target.leftovers(OWN) == []
    for name in ("envctl-state.json", "envctl-a-000000000002.tar.gz"):
        with pytest.raises(EnvctlError, match=r"is not (a staging file|an upload part)"):
            target.delete_leftover(name)
        assert target.stat(name) is not None


def test_put_file_refuses_an_existing_name(target: Target, tmp_path: Path) -> None:
    src = tmp_path / "x"
    src.write_bytes(b"abc")
    target.put_file("envctl-x", src, md5=hashlib.md5(b"abc").hexdigest())
    with pytest.raises(ObjectExists):
        target.put_file("envctl-x", src, md5=hashlib.md5(b"abc").hexdigest())


def test_put_bytes_replaces_and_read_returns_latest(target: Target) -> None:
    target.put_bytes("envctl-state.json", b"one")
    target.put_bytes("envctl-state.json", b"two")
    assert target.read("envctl-state.json") == b"two"


def test_create_exclusive_is_exclusive_and_delete_is_idempotent(target: Target) -> None:
    target.create_exclusive("envctl-lease.json", b"me")
    with pytest.raises(ObjectExists):
        target.create_exclusive("envctl-lease.json", b"you")
    assert target.read("envctl-lease.json") == b"me"
    target.delete("envctl-lease.json")
    target.delete("envctl-lease.json")
    with pytest.raises(ObjectMissing):
        target.read("envctl-lease.json")
    assert target.stat("envctl-lease.json") is None


def test_temp_flag_is_reported_by_stat(target: Target) -> None:
    target.put_bytes("envctl_tmp-abc", b"x", temp=True)
    assert target.stat("envctl_tmp-abc").temp is True


def test_listing_many_objects_is_one_call_however_many_pages(
    odps_emulator, odps_credentials, tmp_path: Path
) -> None:
    from envctl.testing.emulator_fixtures import emulator_target_url

    odps_emulator.list_page_size = 7
    target = open_target(emulator_target_url(odps_emulator), Project(tmp_path))
    for i in range(20):
        target.put_bytes(f"envctl-n{i:02d}", b"x")
    odps_emulator.stats.reset()
    assert len(target.list("envctl-")) == 20
    assert target.stats["list"] == 1
    assert odps_emulator.stats.count(method="GET") == 3  # 20 objects in pages of 7


def test_transient_server_errors_are_retried(
    odps_emulator, odps_credentials, tmp_path: Path
) -> None:
    from envctl.testing.emulator_fixtures import emulator_target_url

    target = open_target(emulator_target_url(odps_emulator), Project(tmp_path))
    target.retry_wait = 0.01
    odps_emulator.faults.fail(503, method="POST", times=2)
    target.put_bytes("envctl-state.json", b"ok")
    assert target.read("envctl-state.json") == b"ok"


def test_missing_odps_credentials_is_one_line_error(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.delenv(ACCESS_KEY_ID.name, raising=False)
    monkeypatch.delenv(ACCESS_KEY_SECRET.name, raising=False)
    with pytest.raises(EnvctlError, match=f"set {ACCESS_KEY_ID.name} and {ACCESS_KEY_SECRET.name}"):
        open_target("odps://p?endpoint=http://127.0.0.1:1", Project(tmp_path))


@pytest.mark.parametrize(
    "url, message",
    [
        ("s3://bucket", "unknown scheme 's3'"),
        ("local://relative", "absolute path"),
        ("odps://proj", "needs endpoint="),
        ("odps://proj?endpoint=http://x&colour=red", "unknown parameter 'colour'"),
        ("odps://proj?endpoint=http://x&chunk_size=big", "chunk_size"),
    ],
)
def test_bad_target_url_is_a_clear_error(url: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(EnvctlError, match=message):
        open_target(url, Project(tmp_path))


def test_large_upload_goes_in_parts_and_survives_a_failed_part(
    odps_emulator, odps_credentials, tmp_path: Path
) -> None:
    from envctl.testing.emulator_fixtures import emulator_target_url

    target = open_target(
        emulator_target_url(odps_emulator) + "&chunk_size=65536", Project(tmp_path)
    )
    target.retry_wait = 0.01
    data = os.urandom(5 * 65536 + 100)
    src = tmp_path / "big.tar.gz"
    src.write_bytes(data)
    odps_emulator.faults.fail(503, kind="part", nth=3, times=1)
    info = target.put_file("envctl-big-000000000001.tar.gz", src, md5=hashlib.md5(data).hexdigest())
    assert info.size == len(data) and info.md5 == hashlib.md5(data).hexdigest()
    assert odps_emulator.stats.count(kind="part") >= 6
    assert [i.name for i in target.list("envctl-")] == ["envctl-big-000000000001.tar.gz"]


def test_sts_credentials_sign_with_the_security_token(
    odps_emulator, odps_credentials, monkeypatch, tmp_path
) -> None:
    from odps.accounts import StsAccount

    monkeypatch.setenv(SECURITY_TOKEN.name, "sts-token-for-test")
    target = open_target(odps_emulator.target_url("envctl_test"), Project(tmp_path))
    assert isinstance(target.client.account, StsAccount)
    assert target.client.account.sts_token == "sts-token-for-test"
    target.put_bytes("envctl-sts-probe.json", b"{}")
    assert target.read("envctl-sts-probe.json") == b"{}"
