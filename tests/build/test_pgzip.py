"""The parallel gzip writer: standard gzip, same bytes whatever the thread count, zlib-sized."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import zlib
from pathlib import Path

import pytest

from envctl.build.pgzip import BLOCK_SIZE, ParallelGzipWriter


def _compress(data: bytes, workers: int, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    with ParallelGzipWriter(out, 6, workers=workers) as writer:
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            writer.write(data[i : i + step])
    return out.getvalue()


def _sample(size: int) -> bytes:
    words = [os.urandom(6).hex().encode() for _ in range(2000)]
    rng = __import__("random").Random(7)
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, 2 * BLOCK_SIZE + 12345])
def test_output_is_standard_gzip_of_the_input(size: int) -> None:
    data = _sample(size)
    assert gzip.decompress(_compress(data, workers=2)) == data


def test_bytes_do_not_depend_on_thread_count_or_write_sizes() -> None:
    data = _sample(3 * BLOCK_SIZE + 99)
    one = _compress(data, workers=1, pieces=3)
    assert _compress(data, workers=2, pieces=11) == one
    assert _compress(data, workers=4, pieces=1) == one


def test_size_is_within_half_a_percent_of_single_threaded_zlib() -> None:
    data = _sample(3 * BLOCK_SIZE)
    assert len(_compress(data, workers=2)) <= len(zlib.compress(data, 6)) * 1.005


def test_gunzip_command_reads_it(tmp_path: Path) -> None:
    data = _sample(BLOCK_SIZE + 5)
    path = tmp_path / "x.gz"
    path.write_bytes(_compress(data, workers=2))
    assert (
        subprocess.run(["gzip", "-dc", str(path)], capture_output=True, check=True).stdout == data
    )


def test_tell_counts_uncompressed_bytes() -> None:
    writer = ParallelGzipWriter(io.BytesIO(), 6, workers=1)
    writer.write(b"abc")
    writer.write(b"de")
    assert writer.tell() == 5
    writer.close()


def test_segments_are_independent_and_splice_gives_the_same_bytes() -> None:
    parts = [_sample(BLOCK_SIZE + 777), _sample(12345), b"", _sample(BLOCK_SIZE // 3)]
    fresh, cached = io.BytesIO(), []
    with ParallelGzipWriter(fresh, 6, workers=2) as writer:
        for part in parts:
            sink = io.BytesIO()
            writer.segment(sink.write)
            writer.write(part)
            cached.append((sink, *writer.segment()))
        writer.write(b"tail")
    assert gzip.decompress(fresh.getvalue()) == b"".join(parts) + b"tail"
    spliced = io.BytesIO()
    with ParallelGzipWriter(spliced, 6, workers=1) as writer:
        for sink, crc, length in cached:
            writer.splice([sink.getvalue()], crc, length)
        writer.write(b"tail")
    assert spliced.getvalue() == fresh.getvalue()
    assert cached[2][1:] == (0, 0) and cached[2][0].getvalue() == b""
