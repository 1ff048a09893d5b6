"""The embedded default target: a plain directory, one file per object.

Writes go through ``envctl.files.atomic_writer`` (a temp file in the same directory, fsynced,
renamed into place), so a reader (or a crash) never sees half an object; exclusive creates
hard-link instead of renaming, which fails atomically when the name exists.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from envctl import crashpoints
from envctl.errors import EnvctlError
from envctl.files import atomic_writer, file_hexdigest, write_text_atomic
from envctl.targets.base import (
    MD5_BUFFER,
    FunctionInfo,
    Kind,
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    Progress,
    Target,
    TargetError,
    verify_uploaded,
)

TEMP_MARKERS = ".temp"
FUNCTIONS = ".functions"
STAGING_SUFFIX = ".part"
_STAGED = re.compile(r"^\.(?P<name>[^/\\]+)\.[a-z0-9_]{8}" + re.escape(STAGING_SUFFIX) + "$")
"""A staging file ``_staged`` made (``tempfile.mkstemp``'s eight random characters)."""


class LocalTarget(Target):
    """Objects as files below ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.url = f"local://{self.root}"
        if self.root.exists() and not self.root.is_dir():
            raise EnvctlError(f"local target {self.root} exists and is not a directory")

    def _path(self, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise EnvctlError(f"invalid object name {name!r}")
        return self.root / name

    @contextmanager
    def _staged(self, name: str, *, exclusive: bool = False) -> Iterator[BinaryIO]:
        """Write object ``name``: it appears whole when the block ends, or not at all.

        With ``exclusive`` an existing object is left alone and ObjectExists is raised.
        """
        try:
            with atomic_writer(
                self._path(name), exclusive=exclusive, suffix=STAGING_SUFFIX
            ) as handle:
                yield handle
        except FileExistsError:
            raise ObjectExists(name) from None

    def _mark_temp(self, name: str, temp: bool) -> None:
        marker = self.root / TEMP_MARKERS / name
        if temp:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        else:
            marker.unlink(missing_ok=True)

    def _info(self, name: str, stat: os.stat_result, md5: Optional[str] = None) -> ObjectInfo:
        temp = (self.root / TEMP_MARKERS / name).exists()
        return ObjectInfo(name=name, size=stat.st_size, modified=stat.st_mtime, md5=md5, temp=temp)

    # SQL functions: one JSON file each in ``.functions/`` (the listing skips dot names)
    def _function_path(self, name: str) -> Path:
        self._path(name)  # the same name rules as objects
        return self.root / FUNCTIONS / f"{name}.json"

    def list_functions(self) -> dict[str, FunctionInfo]:
        self._count("list")
        found = {}
        for path in sorted((self.root / FUNCTIONS).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            name, resources = data["name"], tuple(data["resources"])
            found[name] = FunctionInfo(name, data["class_type"], resources)
        return found

    def put_function(self, function: FunctionInfo) -> None:
        self._count("write")
        missing = [r for r in function.resources if not self._path(r).is_file()]
        if missing:  # as MaxCompute: a function references existing resources only
            raise TargetError(f"function {function.name}: no resource named {missing[0]!r}")
        path = self._function_path(function.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "name": function.name,
            "class_type": function.class_type,
            "resources": list(function.resources),
        }
        write_text_atomic(path, json.dumps(data, sort_keys=True))

    def delete_function(self, name: str) -> None:
        self._count("delete")
        self._function_path(name).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[ObjectInfo]:
        self._count("list")
        if not self.root.is_dir():
            return []
        infos = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if (
                    entry.name.startswith(prefix)
                    and not entry.name.startswith(".")
                    and entry.is_file()
                ):
                    infos.append(self._info(entry.name, entry.stat()))
        return sorted(infos, key=lambda i: i.name)

    def stat(self, name: str) -> Optional[ObjectInfo]:
        self._count("stat")
        path = self._path(name)
        try:
            return self._info(name, path.stat(), file_hexdigest(path, "md5"))
        except FileNotFoundError:
            return None

    def read(self, name: str) -> bytes:
        self._count("read")
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(name) from None

    def download(self, name: str, dest: Path, progress: Optional[Progress] = None) -> None:
        self._count("download")
        source = self._path(name)
        if not source.is_file():
            raise ObjectMissing(name)
        with open(source, "rb") as src, atomic_writer(dest, suffix=".part") as out:
            while chunk := src.read(MD5_BUFFER):
                out.write(chunk)
                if progress:
                    progress(len(chunk))

    def put_bytes(self, name: str, data: bytes, *, temp: bool = False) -> None:
        self._count("write")
        with self._staged(name) as handle:
            handle.write(data)
            crashpoints.reach(crashpoints.named("write"))
        self._mark_temp(name, temp)

    def put_file(
        self,
        name: str,
        path: Path,
        *,
        md5: str,
        kind: Kind = "archive",
        temp: bool = False,
        progress: Optional[Progress] = None,
    ) -> ObjectInfo:
        self._count("upload")
        dest = self._path(name)
        digest = hashlib.md5()
        size = 0
        with self._staged(name, exclusive=True) as handle, open(path, "rb") as src:
            while chunk := src.read(MD5_BUFFER):
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if progress:
                    progress(len(chunk))
            written = ObjectInfo(name, size, 0.0, digest.hexdigest())
            verify_uploaded(name, written, path.stat().st_size, md5)
        self._mark_temp(name, temp)
        return self._info(name, dest.stat(), written.md5)

    def create_exclusive(self, name: str, data: bytes) -> None:
        self._count("create")
        with self._staged(name, exclusive=True) as handle:
            handle.write(data)

    def delete(self, name: str) -> None:
        self._count("delete")
        self._path(name).unlink(missing_ok=True)
        self._mark_temp(name, False)

    def leftovers(self, prefixes: Sequence[str]) -> builtins.list[ObjectInfo]:
        """Hidden staging files a killed write left behind (a finished write renames its own)."""
        self._count("list")
        if not self.root.is_dir():
            return []
        found = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                staged = _STAGED.match(entry.name)
                if staged and staged["name"].startswith(tuple(prefixes)) and entry.is_file():
                    stat = entry.stat()
                    found.append(ObjectInfo(entry.name, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda i: i.name)

    def delete_leftover(self, name: str) -> None:
        """Only staging files: ``delete`` refuses hidden names, and this refuses everything else."""
        if not _STAGED.match(name):
            raise EnvctlError(f"{name!r} is not a staging file of {self.url}")
        self._count("delete")
        (self.root / name).unlink(missing_ok=True)
