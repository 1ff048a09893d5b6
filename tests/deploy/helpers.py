"""Test helpers: locks, deployed versions, real deterministic tarballs standing in for builds,
the CLI in-process.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Callable

import pytest

from envctl.build.builder import BuiltArchive
from envctl.deploy.state import VersionInfo, archive_name
from envctl.lock.lockfile import Lock, LockedFile
from envctl.spec.loader import Environment

TarBuilt = BuiltArchive
"""Builds here are real tarballs described exactly as the builder describes its archives."""


def make_lock(env: str, *packages: tuple[str, str], python: str = "3.11.9") -> Lock:
    files = tuple(
        LockedFile(
            n,
            v,
            f"{n}-{v}-py3-none-any.whl",
            f"https://example.invalid/{n}",
            hashlib.sha256(f"{n}{v}".encode()).hexdigest(),
            10,
            "wheel",
        )
        for n, v in packages
    )
    return Lock(
        environment=env,
        python=python,
        platform="manylinux2014_x86_64",
        inputs_hash="i" * 64,
        packages=files,
    )


def make_version(
    number: int,
    *,
    sha: str | None = None,
    md5: str = "m",
    size: int = 1,
    lock_hash: str | None = None,
    created: float = 0.0,
) -> VersionInfo:
    """A version of ``nlp`` for manylinux2014_x86_64 / 3.11.9; by default its sha256 is the
    number repeated and its lock hash ``lock<number>``.
    """
    sha = str(number) * 64 if sha is None else sha
    return VersionInfo(
        "nlp",
        number,
        archive_name("nlp", sha),
        sha,
        md5,
        size,
        f"lock{number}" if lock_hash is None else lock_hash,
        "3.11.9",
        "manylinux2014_x86_64",
        created=created,
    )


def tar_builder(out_dir: Path, padding: int = 0) -> Callable[[Environment, Lock], TarBuilt]:
    """A real, deterministic .tar.gz per lock (stands in for envctl.build.builder in Applier
    tests).
    """

    def build(env: Environment, lock: Lock) -> TarBuilt:
        payload = json.dumps([p.filename for p in lock.packages]).encode() + b"\0" * padding
        raw = io.BytesIO()
        with (
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w") as tar,
        ):
            info = tarfile.TarInfo("manifest.json")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        data = raw.getvalue()
        path = out_dir / f"{lock.lock_hash()}.tar.gz"
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return TarBuilt(
            path,
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
            len(data),
            lock.lock_hash(),
            tuple((p.name, p.version) for p in lock.packages),
        )

    return build


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (fast): exit code, stdout, stderr of this call alone."""
    from envctl.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
