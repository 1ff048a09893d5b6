"""pyodps's chunked upload (temp parts + md5-checked merge) against the emulator."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Iterator

import pytest
import requests
from odps import ODPS, errors, options

from envctl.emulator import Emulator
from envctl.testing.payload import write_random_file

MIB = 1024 * 1024


def _streamed_md5(client: ODPS, name: str) -> str:
    digest = hashlib.md5()
    with client.open_resource(name, mode="rb", stream=True) as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def small_chunks() -> Iterator[int]:
    """Force pyodps's chunked path with tiny parts (its options object is process-global)."""
    previous = options.resource_chunk_size
    options.resource_chunk_size = 64 * 1024
    try:
        yield options.resource_chunk_size
    finally:
        options.resource_chunk_size = previous


def test_small_chunk_size_uploads_many_parts_then_merges(
    tmp_path: Path, odps_emulator: Emulator, odps_client: ODPS, small_chunks: int
) -> None:
    source = tmp_path / "payload.bin"
    md5 = write_random_file(source, 20 * small_chunks + 123)

    with open(source, "rb") as handle:
        odps_client.create_resource("chunked.tar.gz", "archive", fileobj=handle)

    assert odps_emulator.stats.count(kind="part") == 21
    assert odps_emulator.stats.count(kind="merge") == 1
    meta = odps_client.get_resource("chunked.tar.gz")
    meta.reload()
    assert (meta.size, meta.content_md5) == (source.stat().st_size, md5)
    assert _streamed_md5(odps_client, "chunked.tar.gz") == md5
    assert [r.name for r in odps_client.list_resources()] == ["chunked.tar.gz"], (
        "parts consumed by merge"
    )


def test_chunked_overwrite_merges_with_put(
    odps_emulator: Emulator, odps_client: ODPS, small_chunks: int
) -> None:
    odps_client.create_resource("over.bin", "file", fileobj=b"old")
    new = os.urandom(3 * small_chunks)

    with odps_client.open_resource("over.bin", mode="wb", stream=True) as handle:
        handle.write(new)

    assert odps_emulator.stats.count(kind="merge", method="PUT") == 1
    assert _streamed_md5(odps_client, "over.bin") == hashlib.md5(new).hexdigest()


def test_chunked_temp_upload_keeps_temp_flag(odps_client: ODPS, small_chunks: int) -> None:
    with odps_client.open_resource("tmp.bin", mode="wb", stream=True, temp=True) as handle:
        handle.write(os.urandom(2 * small_chunks + 1))

    meta = odps_client.get_resource("tmp.bin")
    meta.reload()
    assert meta.is_temp_resource is True


def test_merge_larger_than_limit_is_rejected(
    odps_emulator: Emulator, odps_client: ODPS, small_chunks: int
) -> None:
    odps_emulator.configure(max_resource_size=4 * small_chunks)

    with pytest.raises(errors.InvalidParameter, match="ODPS-0420061"):
        odps_client.create_resource(
            "too_big.bin", "file", fileobj=io.BytesIO(os.urandom(5 * small_chunks))
        )

    assert odps_client.exist_resource("too_big.bin") is False


@pytest.mark.parametrize(
    "body, reason, status, parts_kept",
    [
        (hashlib.md5(b"").hexdigest() + "|", "no parts", 400, True),
        ("not a manifest", "malformed", 400, True),
        ("0" * 32 + "|part.0", "md5 mismatch", 500, False),  # live: 500 and parts consumed
        (hashlib.md5(b"abc").hexdigest() + "|missing.part", "missing part", 404, True),
    ],
)
def test_bad_merge_requests_publish_nothing(
    odps_emulator: Emulator,
    odps_client: ODPS,
    body: str,
    reason: str,
    status: int,
    parts_kept: bool,
) -> None:
    odps_client.get_project().resources.create(
        name="part.0", type="file", temp=True, part=True, fileobj=b"abc"
    )
    total = "0" if reason == "no parts" else "3"
    headers = {
        "Authorization": "ODPS ak:sig",
        "x-odps-resource-type": "file",
        "x-odps-resource-name": "merged.bin",
        "x-odps-resource-merge-total-bytes": total,
    }

    response = requests.post(
        f"{odps_emulator.endpoint}/projects/envctl_test/resources?rOpMerge=true",
        data=body,
        headers=headers,
        timeout=60,
    )

    assert response.status_code == status, response.text
    assert odps_client.exist_resource("merged.bin") is False
    assert odps_client.exist_resource("part.0") is parts_kept


def test_70mb_resource_at_default_settings_round_trips(
    tmp_path: Path, odps_emulator: Emulator, odps_client: ODPS
) -> None:
    assert options.resource_chunk_size == 64 * MIB
    source = tmp_path / "big.tar.gz"
    md5 = write_random_file(source, 70 * MIB)

    with open(source, "rb") as handle:
        odps_client.create_resource("big.tar.gz", "archive", fileobj=handle)

    assert odps_emulator.stats.count(kind="part") == 2
    meta = odps_client.get_resource("big.tar.gz")
    meta.reload()
    assert (meta.size, meta.content_md5) == (70 * MIB, md5)
    assert _streamed_md5(odps_client, "big.tar.gz") == md5
