"""The odps target against an emulator that behaves like the live service (parts unlisted,
bad-md5 merges consume parts, only ``/api`` is the REST API, Content-MD5 format unknown)."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from odps.models import Resources

from envctl.cli import main
from envctl.emulator import Emulator
from envctl.errors import EnvctlError
from envctl.spec.project import Project
from envctl.targets import TargetError, open_target
from envctl.targets.base import hex_md5
from envctl.targets.odps import OdpsTarget
from envctl.testing.emulator_fixtures import TEST_PROJECT, ResourceService, emulator_target_url
from envctl.udf.resolution import resource_ref

CHUNK = 65536


@pytest.fixture
def odps(odps_emulator: Emulator, odps_credentials: None, tmp_path: Path) -> OdpsTarget:
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}"
    target = open_target(url, Project(tmp_path))
    assert isinstance(target, OdpsTarget)
    target.retry_wait = 0.01
    return target


def _file(tmp_path: Path, size: int) -> tuple[Path, str]:
    data = os.urandom(size)
    path = tmp_path / "a.tar.gz"
    path.write_bytes(data)
    return path, hashlib.md5(data).hexdigest()


def test_a_bad_md5_merge_consumes_the_parts_and_the_retry_uploads_them_again(
    odps: OdpsTarget, odps_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, md5 = _file(tmp_path, 3 * CHUNK + 5)
    merge = Resources.merge_part_files
    calls: list[str] = []

    def corrupt_first(self: Any, resource: Any, parts: Any, md5_hex: str, **kw: Any) -> Any:
        calls.append(md5_hex)  # fault injection: the first merge declares a wrong md5
        return merge(self, resource, parts, "0" * 32 if len(calls) == 1 else md5_hex, **kw)

    monkeypatch.setattr(Resources, "merge_part_files", corrupt_first)

    info = odps.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)

    assert info.md5 == md5 and len(calls) == 2
    assert odps_emulator.stats.count(kind="part") == 8, "all four parts sent twice"
    assert odps_emulator.store.names(TEST_PROJECT) == ["envctl-a-000000000001.tar.gz"]


def test_a_failed_upload_deletes_its_parts_and_journal_by_name(
    odps: OdpsTarget, odps_emulator: Emulator, tmp_path: Path
) -> None:
    path, md5 = _file(tmp_path, 4 * CHUNK)
    odps_emulator.faults.fail(400, kind="part", nth=3)  # not retryable

    with pytest.raises(TargetError):
        odps.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)

    assert odps_emulator.store.names(TEST_PROJECT) == []
    assert odps.leftovers(("envctl-",)) == []


def test_leftovers_find_unlisted_parts_through_the_journal_only_under_owned_prefixes(
    odps: OdpsTarget, odps_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, md5 = _file(tmp_path, 3 * CHUNK)
    monkeypatch.setattr(OdpsTarget, "_drop_parts", lambda self, names: False)  # as if killed
    odps_emulator.faults.fail(400, kind="merge")
    with pytest.raises(TargetError):
        odps.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)
    names = odps_emulator.store.names(TEST_PROJECT)
    journal = [n for n in names if n.endswith(".json")]
    assert len(names) == 4 and len(journal) == 1
    assert [i.name for i in odps.list("envctl-")] == journal, "parts are not listed"

    found = [i.name for i in odps.leftovers(("envctl-", "envctl_tmp-"))]

    assert found == names and odps.leftovers(("other-",)) == []
    for name in found:
        odps.delete_leftover(name)
    assert odps_emulator.store.names(TEST_PROJECT) == []


def test_a_journal_cannot_point_gc_at_other_objects(odps: OdpsTarget) -> None:
    odps.put_bytes("envctl-state.json", b"{}")
    journal = '{"parts": ["envctl-state.json", "envctl-b.tar.gz.part.tmp.000001.000000"]}'
    odps.put_bytes("envctl-a.tar.gz.upload.000001.json", journal.encode())

    assert [i.name for i in odps.leftovers(("envctl-",))] == ["envctl-a.tar.gz.upload.000001.json"]
    with pytest.raises(EnvctlError, match="not an upload part or journal"):
        odps.delete_leftover("envctl-state.json")


@pytest.mark.parametrize("fmt", ["hex", "base64", "absent"])
def test_upload_is_verified_whatever_the_content_md5_format(
    odps: OdpsTarget,
    odps_emulator: Emulator,
    tmp_path: Path,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    odps_emulator.configure(meta_md5=fmt)
    path, md5 = _file(tmp_path, 2 * CHUNK + 1)

    odps.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)

    warned = "reported no Content-MD5; checking size and its content" in capsys.readouterr().err
    assert warned is (fmt == "absent")


@pytest.mark.parametrize("fmt", ["hex", "base64"])
def test_stat_reports_the_md5_as_lower_case_hex_whatever_the_service_sends(
    odps: OdpsTarget, odps_emulator: Emulator, tmp_path: Path, fmt: str
) -> None:
    """Why: callers compare it with a recorded hex md5 (adopting a staged archive does)."""
    odps_emulator.configure(meta_md5=fmt)
    path, md5 = _file(tmp_path, CHUNK // 2)
    odps.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)

    info = odps.stat("envctl-a-000000000001.tar.gz")

    assert info is not None and info.md5 == md5.lower()


def test_without_content_md5_a_large_upload_is_checked_by_its_tail(
    odps: OdpsTarget, odps_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("envctl.targets.odps.FULL_CHECK_MAX", CHUNK)
    monkeypatch.setattr("envctl.targets.odps.TAIL_CHECK", 1000)
    odps_emulator.configure(meta_md5="absent")
    path, md5 = _file(tmp_path, 3 * CHUNK)
    odps.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)
    odps_emulator.stats.reset()
    other = tmp_path / "other"
    other.write_bytes(path.read_bytes()[:-1] + b"!")

    with pytest.raises(TargetError, match="last bytes differ"):
        odps._verify("envctl-a-000000000001.tar.gz", other, 3 * CHUNK, md5)
    assert odps_emulator.stats.bytes_out == 1000, "one ranged read of the tail"


def test_hex_md5_reads_hex_and_base64_and_refuses_the_rest() -> None:
    digest = hashlib.md5(b"x").digest()
    assert (
        hex_md5(digest.hex().upper()) == hex_md5(base64.b64encode(digest).decode()) == digest.hex()
    )
    with pytest.raises(TargetError, match="unrecognised Content-MD5"):
        hex_md5("not-an-md5")


def test_a_non_maxcompute_404_is_a_configuration_error_not_missing(
    odps_emulator: Emulator, odps_credentials: None, tmp_path: Path
) -> None:
    url = f"odps://{TEST_PROJECT}?endpoint={odps_emulator.base_url}/foo"
    target = open_target(url, Project(tmp_path))

    for call in (
        lambda: target.list("envctl-"),
        lambda: target.stat("envctl-lease.json"),
        lambda: target.delete("envctl-lease.json"),
        lambda: target.create_exclusive("envctl-lease.json", b"x"),
    ):
        with pytest.raises(EnvctlError, match="must be MaxCompute's REST root, ending in /api"):
            call()


def test_status_against_a_wrong_endpoint_path_says_which_url_in_one_line(
    odps_emulator: Emulator,
    odps_credentials: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "environments").mkdir()
    url = f"odps://{TEST_PROJECT}?endpoint={odps_emulator.base_url}/foo"

    code = main(["--root", str(tmp_path), "status", "--target", url])

    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert (
        f"{odps_emulator.base_url}/foo/projects/{TEST_PROJECT}/resources answered HTTP 404" in err
    )
    assert "ending in /api" in err and "Traceback" not in err


class _Killed(Exception):
    """Stands in for a SIGKILL between the last part and the merge."""


@pytest.mark.contract
def test_a_killed_uploads_unlisted_parts_are_found_through_its_journal_and_deleted_by_name(
    resource_service: ResourceService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, prefix = resource_service, resource_service.prefix
    target = service.target(chunk_size=CHUNK)
    done, killed = service.name("a.tar.gz"), service.name("b.tar.gz")
    path, md5 = _file(tmp_path, 3 * CHUNK)
    assert target.put_file(done, path, md5=md5).size == 3 * CHUNK  # the part+merge flow

    def kill(*args: Any, **kwargs: Any) -> None:
        raise _Killed()

    monkeypatch.setattr(OdpsTarget, "_drop_parts", lambda self, names: False)
    monkeypatch.setattr(Resources, "merge_part_files", kill)
    with pytest.raises(_Killed):
        target.put_file(killed, path, md5=md5)
    found = [info.name for info in target.leftovers((prefix,))]
    service.created += found

    assert len(found) == 4 and all(name.startswith(killed) for name in found)
    journal = found[-1]
    assert [info.name for info in target.list(prefix)] == [done, journal], "parts are unlisted"
    for name in found:
        target.delete_leftover(name)
    assert all(target.stat(name) is None for name in found)
    assert target.leftovers((prefix,)) == []


def test_a_schema_target_keeps_everything_in_its_schema_and_names_it_like_maxframe(
    odps_emulator: Emulator, odps_credentials: None, tmp_path: Path
) -> None:
    url = emulator_target_url(odps_emulator) + f"&schema=analytics&chunk_size={CHUNK}"
    target = open_target(url, Project(tmp_path))
    path, md5 = _file(tmp_path, 2 * CHUNK + 1)

    target.put_file("envctl-a-000000000001.tar.gz", path, md5=md5)
    target.put_bytes("envctl-state.json", b"{}")
    target.create_exclusive("envctl-lease.json", b"me")
    target.delete("envctl-lease.json")

    assert [i.name for i in target.list("envctl-")] == [
        "envctl-a-000000000001.tar.gz",
        "envctl-state.json",
    ]
    assert target.read("envctl-state.json") == b"{}"
    assert odps_emulator.store.names(TEST_PROJECT) == []
    assert odps_emulator.store.names(TEST_PROJECT, "analytics") == [
        "envctl-a-000000000001.tar.gz",
        "envctl-state.json",
    ]
    assert target.url.endswith("&schema=analytics")
    udf = pytest.importorskip("maxframe.udf")
    # maxframe formats a Resource from its project name, schema name and name (a stand-in:
    # pyodps 0.13's Resource.schema is a Schema object, which maxframe 2.9 cannot join).
    resource = SimpleNamespace(
        project=SimpleNamespace(name=TEST_PROJECT), schema="analytics", name="envctl-state.json"
    )
    marked = udf.with_resources(resource)(lambda row: row)
    assert marked.file_resources == [resource_ref(target, "envctl-state.json")]


def test_a_bad_schema_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EnvctlError, match="invalid schema name"):
        open_target("odps://p?endpoint=http://x/api&schema=a/b", Project(tmp_path))
