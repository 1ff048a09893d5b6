"""The emulator's fast merge: parts hashed in the background in name order, merged content made
of the parts' hard-linked blobs. Answers must be those of the plain merge (README table)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Optional

import pytest
from odps import ODPS, errors

import envctl.emulator.store as store_module
import envctl.files
from envctl.emulator import Emulator
from envctl.testing.emulator_fixtures import TEST_PROJECT, make_odps_client

PART = 4096
PIECES = [os.urandom(PART) for _ in range(11)] + [os.urandom(100)]
CONTENT = b"".join(PIECES)
NUMBERED = [f"m.bin.part.tmp.000001.{index:06d}" for index in range(len(PIECES))]
UNNUMBERED = [f"m.bin.part.{chr(ord('z') - index)}" for index in range(len(PIECES))]
"""Merge order is not the names' number order: merged without the background md5."""


def _send_parts(client: ODPS, names: list[str]) -> list[Any]:
    resources = client.get_project().resources
    return [
        resources.create(name=name, type="file", temp=True, part=True, fileobj=piece)
        for name, piece in zip(names, PIECES)
    ]


def _merge(client: ODPS, parts: list[Any], md5: str) -> None:
    resources = client.get_project().resources
    target = resources.get_typed("m.bin", "archive")
    resources.merge_part_files(target, parts, md5, overwrite=False)


def _read(client: ODPS, offset: Optional[int] = None, size: Optional[int] = None) -> bytes:
    resources = client.get_project().resources
    resource = resources.get_typed("m.bin", "file")
    return bytes(resources.read_resource(resource, offset=offset, read_size=size).read())


@pytest.fixture
def md5_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts merges that read their parts for the md5 (the slow path)."""
    calls: list[int] = []
    original = store_module._md5_of_files

    def counted(paths: Any) -> str:
        calls.append(len(paths))
        return original(paths)

    monkeypatch.setattr(store_module, "_md5_of_files", counted)
    return calls


@pytest.mark.parametrize(("names", "hashed_at_merge"), [(NUMBERED, 0), (UNNUMBERED, 1)])
def test_a_merge_has_the_parts_bytes_md5_and_size_with_or_without_the_background_md5(
    odps_emulator: Emulator,
    odps_client: ODPS,
    md5_passes: list[int],
    names: list[str],
    hashed_at_merge: int,
) -> None:
    parts = _send_parts(odps_client, names)

    _merge(odps_client, parts, hashlib.md5(CONTENT).hexdigest())

    assert len(md5_passes) == hashed_at_merge
    meta = odps_client.get_resource("m.bin")
    meta.reload()
    assert (meta.size, meta.content_md5) == (len(CONTENT), hashlib.md5(CONTENT).hexdigest())
    assert _read(odps_client) == CONTENT
    for offset, size in [(PART - 10, 20), (3 * PART, 2 * PART + 1), (len(CONTENT) - 5, 100)]:
        assert _read(odps_client, offset, size) == CONTENT[offset : offset + size], (offset, size)
    assert odps_emulator.store.names(TEST_PROJECT) == ["m.bin"], "parts consumed"


@pytest.mark.parametrize("names", [NUMBERED, UNNUMBERED])
def test_a_bad_md5_merge_is_still_500_consuming_the_parts_and_leaving_no_blob(
    odps_emulator: Emulator, odps_client: ODPS, names: list[str]
) -> None:
    parts = _send_parts(odps_client, names)

    with pytest.raises(errors.InternalServerError, match="signature does not match"):
        _merge(odps_client, parts, hashlib.md5(CONTENT + b"x").hexdigest())

    assert odps_emulator.store.names(TEST_PROJECT) == []
    assert list(odps_emulator.store.blobs.iterdir()) == []


def test_a_part_is_hashed_only_when_its_md5_is_asked_for(
    odps_emulator: Emulator, odps_client: ODPS
) -> None:
    _send_parts(odps_client, NUMBERED[:1])

    assert odps_emulator.store.get(TEST_PROJECT, None, NUMBERED[0]).md5 is None
    part = odps_client.get_resource(NUMBERED[0])
    part.reload()
    assert part.content_md5 == hashlib.md5(PIECES[0]).hexdigest()


def test_merged_content_outlives_its_parts_and_a_restart_then_goes_with_the_resource(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with Emulator(data) as emulator:
        client = make_odps_client(emulator)
        _merge(client, _send_parts(client, NUMBERED), hashlib.md5(CONTENT).hexdigest())
    with Emulator(data) as emulator:  # the start-up sweep keeps every blob a resource uses
        client = make_odps_client(emulator)
        assert _read(client) == CONTENT
        client.delete_resource("m.bin")
        assert list(emulator.store.blobs.iterdir()) == []


def test_blob_renames_and_links_fsync_the_blob_directory(
    odps_emulator: Emulator, odps_client: ODPS, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    original = envctl.files.fsync_directory

    def recorded(directory: Path) -> None:
        synced.append(Path(directory))
        original(directory)

    monkeypatch.setattr(envctl.files, "fsync_directory", recorded)
    monkeypatch.setattr(store_module, "fsync_directory", recorded)
    blobs = odps_emulator.store.blobs

    parts = _send_parts(odps_client, NUMBERED[:2])
    assert synced.count(blobs) == 2, "each part's blob rename"
    _merge(odps_client, parts, hashlib.md5(PIECES[0] + PIECES[1]).hexdigest())
    assert synced.count(blobs) == 3, "the merged resource's links"


def test_numbered_parts_arriving_out_of_order_are_still_hashed_before_the_merge(
    odps_emulator: Emulator, odps_client: ODPS, md5_passes: list[int]
) -> None:
    resources = odps_client.get_project().resources
    order = [3, 1, 0, 2, *range(4, len(PIECES))]  # as parts in flight finish
    sent = {
        index: resources.create(
            name=NUMBERED[index], type="file", temp=True, part=True, fileobj=PIECES[index]
        )
        for index in order
    }

    _merge(
        odps_client, [sent[index] for index in range(len(PIECES))], hashlib.md5(CONTENT).hexdigest()
    )

    assert md5_passes == [], "the background md5 covered every part"
    assert _read(odps_client) == CONTENT
