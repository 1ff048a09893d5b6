"""Tiny but real distributions for offline tests: wheels, pure and native sdists.

The files are byte-stable (fixed zip/tar timestamps), so their hashes are the same on every
run. Sdists carry a tiny in-tree PEP 517 backend with no build requirements, so building one
needs no index and no setuptools.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

Content = Union[str, bytes]
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_TAR_TIME = 1577836800  # the same instant, as tar members carry it


@dataclass(frozen=True)
class Dist:
    """One tiny project: its files (``{path: content}``) and dependencies (PEP 508)."""

    name: str
    version: str
    files: Mapping[str, Content]
    requires: Sequence[str] = ()
    requires_python: str = ""
    tags: Sequence[str] = ("py3-none-any",)  # one wheel per tag; empty = sdist only
    sdist: bool = False
    extra_sdist_files: Mapping[str, Content] = field(default_factory=dict)
    build_requires: Sequence[str] = ()  # the sdist's [build-system] requires
    backend_prelude: str = ""  # code the sdist's backend runs on import (to record its env, say)

    @property
    def dist_name(self) -> str:
        return self.name.replace("-", "_")


def _bytes(content: Content) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def metadata(dist: Dist) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {dist.name}", f"Version: {dist.version}"]
    if dist.requires_python:
        lines.append(f"Requires-Python: {dist.requires_python}")
    lines += [f"Requires-Dist: {r}" for r in dist.requires]
    return "\n".join(lines) + "\n"


def _top_level(dist: Dist) -> str:
    names = sorted({p.split("/", 1)[0].split(".", 1)[0] for p in dist.files})
    return "\n".join(names) + "\n"


def wheel_bytes(dist: Dist, tag: str) -> bytes:
    """A valid wheel (METADATA, WHEEL, top_level.txt, RECORD with hashes)."""
    info = f"{dist.dist_name}-{dist.version}.dist-info"
    pure = tag.endswith("-none-any")
    entries = {path: _bytes(content) for path, content in sorted(dist.files.items())}
    entries[f"{info}/METADATA"] = metadata(dist).encode()
    entries[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\n"
        "Generator: envctl-testing\n"
        f"Root-Is-Purelib: {'true' if pure else 'false'}\n"
        f"Tag: {tag}\n"
    ).encode()
    entries[f"{info}/top_level.txt"] = _top_level(dist).encode()
    record = []
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            item = zipfile.ZipInfo(path, _ZIP_TIME)
            item.external_attr = 0o644 << 16
            archive.writestr(item, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def wheel_filename(dist: Dist, tag: str) -> str:
    return f"{dist.dist_name}-{dist.version}-{tag}.whl"


# Adjacent literals only keep source lines short: the text (so every sdist's bytes) is unchanged.
_BACKEND = (
    '"""Minimal in-tree PEP 517 backend: packs the listed files into a py3-none-any wheel."""\n'
    """import base64, hashlib, os, zipfile
{prelude}
NAME, VERSION, FILES, METADATA = {name!r}, {version!r}, {files!r}, {metadata!r}


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = NAME.replace("-", "_") + "-" + VERSION + ".dist-info"
    entries = {{}}
    for path in FILES:
        with open(path, "rb") as f:
            entries[path] = f.read()
    entries[info + "/METADATA"] = METADATA.encode()
    entries[info + "/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: tiny\\n"""
    """Root-Is-Purelib: true\\nTag: py3-none-any\\n"
    record = []
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(info + "/RECORD,,")
    entries[info + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = NAME.replace("-", "_") + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    return filename
"""
)


def sdist_bytes(dist: Dist) -> bytes:
    """A ``.tar.gz`` sdist built by the tiny in-tree backend above."""
    root = f"{dist.dist_name}-{dist.version}"
    members: dict[str, bytes] = {path: _bytes(content) for path, content in dist.files.items()}
    members.update({path: _bytes(content) for path, content in dist.extra_sdist_files.items()})
    members["PKG-INFO"] = metadata(dist).encode()
    requires = ", ".join(f'"{r}"' for r in dist.build_requires)
    members["pyproject.toml"] = (
        f"[build-system]\nrequires = [{requires}]\n"
        'build-backend = "tiny_backend"\nbackend-path = ["_backend"]\n'
    ).encode()
    members["_backend/tiny_backend.py"] = _BACKEND.format(
        name=dist.name,
        version=dist.version,
        files=sorted(dist.files),
        metadata=metadata(dist),
        prelude=dist.backend_prelude,
    ).encode()
    return tar_gz_bytes({f"{root}/{path}": data for path, data in members.items()})


def tar_gz_bytes(members: Mapping[str, bytes]) -> bytes:
    """A byte-stable ``.tar.gz`` of ``members`` (path -> content).

    Members go in name order with a fixed time, mode 0644 and owner 0 without names; the gzip
    header carries no time and no file name (``tarfile``'s ``w:gz`` would stamp the current
    time there, so equal contents would differ from one second to the next).
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path, data in sorted(members.items()):
                item = tarfile.TarInfo(path)
                item.size, item.mtime, item.mode = len(data), _TAR_TIME, 0o644
                item.uid = item.gid = 0
                item.uname = item.gname = ""
                tar.addfile(item, io.BytesIO(data))
    return buffer.getvalue()


def sdist_filename(dist: Dist) -> str:
    return f"{dist.dist_name}-{dist.version}.tar.gz"


def write_dist(dist: Dist, directory: Path) -> list[Path]:
    """Write every file of ``dist`` (its wheels and/or sdist) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for tag in dist.tags:
        path = directory / wheel_filename(dist, tag)
        path.write_bytes(wheel_bytes(dist, tag))
        written.append(path)
    if dist.sdist:
        path = directory / sdist_filename(dist)
        path.write_bytes(sdist_bytes(dist))
        written.append(path)
    return written


def _module(name: str, version: str, body: str = "") -> str:
    return f'__version__ = "{version}"\n{body}'


STANDARD_DISTS: tuple[Dist, ...] = (
    # Pure wheel with a dependency only for old interpreters (markers must use the target).
    Dist(
        "tinypure",
        "1.0",
        {"tinypure/__init__.py": _module("tinypure", "1.0")},
        requires=('tinydep; python_version < "3.8"',),
    ),
    Dist("tinydep", "1.0", {"tinydep.py": _module("tinydep", "1.0")}),
    # Binary wheels for the two main targets (and no wheel for anything else).
    Dist(
        "tinynative",
        "1.0",
        {"tinynative/__init__.py": _module("tinynative", "1.0")},
        tags=(
            "cp37-cp37m-manylinux2014_x86_64",
            "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        ),
    ),
    # A chain: tinychain -> tinypure (-> tinydep on 3.7).
    Dist(
        "tinychain",
        "1.0",
        {"tinychain.py": _module("tinychain", "1.0", "import tinypure\n")},
        requires=("tinypure>=1.0",),
    ),
    # Only an sdist, pure Python: allowed (allow_sdist) and built into a wheel.
    Dist(
        "tinysdist",
        "1.0",
        {"tinysdist/__init__.py": _module("tinysdist", "1.0")},
        tags=(),
        sdist=True,
    ),
    # Only an sdist with a C extension: always refused.
    Dist(
        "tinycext",
        "1.0",
        {"tinycext/__init__.py": _module("tinycext", "1.0")},
        tags=(),
        sdist=True,
        extra_sdist_files={
            "src/_speedups.c": "int tinycext_answer(void) { return 42; }\n",
            "setup.py": "from setuptools import Extension, setup\n"
            "setup(ext_modules=[Extension('tinycext._speedups', ['src/_speedups.c'])])\n",
        },
    ),
    # prefer_binary: a newer pure sdist-only release over an older wheel (newest wins unless
    # prefer_binary), and a newer sdist-only release with C code over an older wheel (the
    # wheel wins, with a warning).
    Dist("tinyfresh", "1.0", {"tinyfresh/__init__.py": _module("tinyfresh", "1.0")}),
    Dist(
        "tinyfresh",
        "2.0",
        {"tinyfresh/__init__.py": _module("tinyfresh", "2.0")},
        tags=(),
        sdist=True,
    ),
    Dist("tinyaccel", "1.0", {"tinyaccel/__init__.py": _module("tinyaccel", "1.0")}),
    Dist(
        "tinyaccel",
        "2.0",
        {"tinyaccel/__init__.py": _module("tinyaccel", "2.0")},
        tags=(),
        sdist=True,
        extra_sdist_files={"src/_accel.c": "int tinyaccel_answer(void) { return 42; }\n"},
    ),
    # The newest release supports only old interpreters (Requires-Python <3.11, like numpy
    # 1.21.6): a 3.7 target must get it even when the host is newer.
    Dist("tinylegacy", "1.0", {"tinylegacy.py": _module("tinylegacy", "1.0")}),
    Dist(
        "tinylegacy",
        "2.0",
        {"tinylegacy.py": _module("tinylegacy", "2.0")},
        requires_python=">=3.7,<3.11",
    ),
    # A wheel whose module fails to import (verify must report it).
    Dist(
        "tinybroken",
        "1.0",
        {"tinybroken/__init__.py": "raise ImportError('tinybroken is broken on purpose')\n"},
    ),
    # ~1 MiB of incompressible data, for size budget tests.
    Dist(
        "tinybig",
        "1.0",
        {"tinybig/__init__.py": "", "tinybig/blob.bin": random.Random(0).randbytes(1 << 20)},
    ),
)
