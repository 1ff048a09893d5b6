"""Parallel part uploads to MaxCompute (the emulator): N parts in flight, merged in order."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from envctl.errors import EnvctlError
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.testing.emulator_fixtures import emulator_target_url

CHUNK = 65536
WAIT = 120.0  # generous: never a race on a loaded machine, only a bound on a broken run


def _payload(tmp_path: Path, parts: int) -> tuple[Path, bytes]:
    data = os.urandom(parts * CHUNK - 100)
    src = tmp_path / "big.tar.gz"
    src.write_bytes(data)
    return src, data


def test_parts_are_in_flight_together_finish_out_of_order_and_merge_in_order(
    odps_emulator: Any, odps_credentials: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odps.models.resources import Resources

    sent: dict[int, threading.Event] = {i: threading.Event() for i in range(5)}
    original = Resources.create

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("part"):
            index = int(str(kwargs["name"]).rsplit(".", 1)[1])
            if index == 0:  # the first part finishes last: only possible with 3 in flight
                assert sent[1].wait(WAIT) and sent[2].wait(WAIT), "parts 1 and 2 were not in flight"
            result = original(self, *args, **kwargs)
            sent[index].set()
            return result
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Resources, "create", create)
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}&parallel=3"
    target = open_target(url, Project(tmp_path))
    src, data = _payload(tmp_path, 5)
    seen: list[int] = []
    info = target.put_file("envctl-big-000000000001.tar.gz", src, md5=hashlib.md5(data).hexdigest(),
                           progress=seen.append)  # fmt: skip
    assert info.size == len(data) and sum(seen) == len(data)
    target.download("envctl-big-000000000001.tar.gz", tmp_path / "back.tar.gz")
    assert (tmp_path / "back.tar.gz").read_bytes() == data
    assert [i.name for i in target.list("envctl-")] == ["envctl-big-000000000001.tar.gz"]


def test_a_failed_part_among_parallel_ones_retries_the_attempt_and_leaves_nothing(
    odps_emulator: Any, odps_credentials: None, tmp_path: Path
) -> None:
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}&parallel=4"
    target = open_target(url, Project(tmp_path))
    target.retry_wait = 0.01  # type: ignore[attr-defined]
    src, data = _payload(tmp_path, 8)
    odps_emulator.faults.fail(503, kind="part", nth=3, times=1)
    info = target.put_file("envctl-big-000000000001.tar.gz", src, md5=hashlib.md5(data).hexdigest())
    assert info.md5 == hashlib.md5(data).hexdigest()
    assert target.leftovers(("envctl-",)) == []
    assert [i.name for i in target.list("envctl-")] == ["envctl-big-000000000001.tar.gz"]


def test_a_part_refused_for_good_fails_the_upload_and_drops_every_part(
    odps_emulator: Any, odps_credentials: None, tmp_path: Path
) -> None:
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}&parallel=4"
    target = open_target(url, Project(tmp_path))
    src, data = _payload(tmp_path, 8)
    odps_emulator.faults.fail(403, kind="part", nth=2, times=None)
    with pytest.raises(EnvctlError):
        target.put_file("envctl-big-000000000001.tar.gz", src, md5=hashlib.md5(data).hexdigest())
    assert target.leftovers(("envctl-",)) == []
    assert target.stat("envctl-big-000000000001.tar.gz") is None


@pytest.mark.parametrize("value", ["0", "65", "x"])
def test_a_bad_parallel_parameter_is_one_clear_error(value: str, tmp_path: Path) -> None:
    with pytest.raises(EnvctlError, match="parallel must be"):
        open_target(f"odps://p?endpoint=http://127.0.0.1:9/api&parallel={value}", Project(tmp_path))


def test_no_part_is_sent_before_the_journal_naming_it_exists(
    odps_emulator: Any, odps_credentials: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odps.models.resources import Resources

    events: list[str] = []
    original = Resources.create

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        kind = "part" if kwargs.get("part") else "journal"
        events.append(f"{kind} sent")
        result = original(self, *args, **kwargs)
        events.append(f"{kind} created")
        return result

    monkeypatch.setattr(Resources, "create", create)
    odps_emulator.faults.delay(0.3, kind="create", times=1)  # a slow journal write
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}&parallel=4"
    target = open_target(url, Project(tmp_path))
    src, data = _payload(tmp_path, 4)

    target.put_file("envctl-big-000000000001.tar.gz", src, md5=hashlib.md5(data).hexdigest())

    assert events[:2] == ["journal sent", "journal created"], events


def test_a_file_no_longer_matching_its_md5_fails_at_once_and_publishes_nothing(
    odps_emulator: Any, odps_credentials: None, tmp_path: Path
) -> None:
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}&parallel=4"
    target = open_target(url, Project(tmp_path))
    target.retry_wait = 0.01  # type: ignore[attr-defined]
    src, data = _payload(tmp_path, 4)
    recorded = hashlib.md5(data[:-1] + b"x").hexdigest()  # as if the file changed after hashing

    with pytest.raises(EnvctlError, match="changed while it was uploaded"):
        target.put_file("envctl-big-000000000001.tar.gz", src, md5=recorded)

    assert odps_emulator.stats.count(kind="merge") == 1, "not retried"
    assert target.stat("envctl-big-000000000001.tar.gz") is None
    assert target.leftovers(("envctl-",)) == []


def test_sender_clients_are_set_up_once_and_kept_for_the_next_upload(
    odps_emulator: Any, odps_credentials: None, tmp_path: Path
) -> None:
    url = emulator_target_url(odps_emulator) + f"&chunk_size={CHUNK}&parallel=3"
    target = open_target(url, Project(tmp_path))
    src, data = _payload(tmp_path, 6)
    md5 = hashlib.md5(data).hexdigest()

    target.put_file("envctl-big-000000000001.tar.gz", src, md5=md5)
    first = odps_emulator.stats.count(kind="tenant")
    target.put_file("envctl-big-000000000002.tar.gz", src, md5=md5)

    assert first <= 1 + 3, "the target's own client and one per part in flight"
    assert odps_emulator.stats.count(kind="tenant") == first
