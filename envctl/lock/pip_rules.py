"""Check a wheels-only uv resolution against pip's rules, in process, instead of running pip.

uv resolves in about a second where pip takes many (pip fetches metadata one package at a time,
and resolves again with ``--prefer-binary`` when the newest release is a native sdist). But uv
is not pip: it ignores ``Requires-Python`` upper bounds, has no prefer-binary mode and, wheels
only, cannot see that pip would take a newer sdist. So the default resolver runs uv and then
*verifies* its answer against the index with the target's marker environment:

* every file uv locked is on the index with the same sha256, the packed wheel is not yanked
  and its ``Requires-Python`` (link and metadata, upper bounds included) admits the target;
* the dependency closure of the requirements, evaluated for the target from each wheel's
  metadata (PEP 658 ``.metadata`` files where served, else read from the wheel through HTTP
  range requests, as pip's and uv's lazy wheels do), is exactly the
  locked set, and every locked version satisfies every requirement and constraint on it;
* pip would pick the same versions: no locked package has a newer version that fits its
  requirements with a usable wheel. A newer version usable only as an sdist changes pip's
  answer unless pip would refuse it: with ``allow_sdist: false`` or ``prefer_binary: true``
  pip prefers the wheel, and otherwise only an sdist with compiled code (a version that
  publishes platform wheels for other platforms has compiled code; else its sdist is
  downloaded and scanned as the pip driver scans) under ``native_builds: never |
  when-no-wheel`` makes pip resolve again preferring wheels, which is uv's answer.

Index pages and metadata are fetched in parallel threads. Anything not confirmed raises
:class:`Unverified` and the caller resolves with pip, the resolver of record.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.error
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from html.parser import HTMLParser
from typing import IO, Any, Optional, cast
from urllib.parse import urljoin, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from envctl.lock.lockfile import LockedFile
from envctl.lock.native import native_sources
from envctl.lock.target_python import TargetPython
from envctl.spec.indexes import open_url, strip_auth
from envctl.spec.loader import Environment

TIMEOUT_S = 30
WORKERS = 16
TAIL_BYTES = 128 * 1024  # a wheel's central directory and .dist-info, usually
RANGE_BYTES = 64 * 1024
_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"


class Unverified(Exception):
    """uv's answer could not be confirmed to be pip's; the message says why (for ``-v``)."""


class _NotFound(Unverified):
    pass


@dataclass(frozen=True)
class IndexFile:
    """One file link of a simple index project page (PEP 503 HTML or PEP 691 JSON)."""

    filename: str
    url: str
    sha256: Optional[str]
    requires_python: Optional[str]
    yanked: bool
    metadata: Optional[str]  # PEP 658: None = not served, "" = served without a hash, else sha256


@dataclass(frozen=True)
class NewerNative:
    """A newer version pip would reach and refuse (an sdist with compiled code)."""

    name: str
    version: str
    evidence: tuple[str, ...]  # its platform wheels for other targets, or its native sources
    sdist: Optional[IndexFile] = None  # to scan, when no platform wheel tells


def _metadata_hash(value: Any) -> Optional[str]:
    """PEP 658/691 ``core-metadata``: false/absent -> None, true -> "", hashes -> sha256."""
    if value is None or value is False or value == "false":
        return None
    if isinstance(value, dict):
        return str(value.get("sha256", ""))
    if isinstance(value, str) and value.startswith("sha256="):
        return value.split("=", 1)[1]
    return ""


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base, self.files = base, []  # type: tuple[str, list[IndexFile]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        if tag != "a":
            return
        attributes = dict(attrs)
        href = attributes.get("href")
        if not href:
            return
        url, _, fragment = urljoin(self.base, href).partition("#")
        digest = fragment.split("=", 1)[1] if fragment.startswith("sha256=") else None
        metadata = attributes.get("data-core-metadata", attributes.get("data-dist-info-metadata"))
        self.files.append(
            IndexFile(
                filename=urlsplit(url).path.rsplit("/", 1)[-1],
                url=url,
                sha256=digest,
                requires_python=attributes.get("data-requires-python") or None,
                yanked="data-yanked" in attributes,
                metadata=_metadata_hash(metadata if metadata is not None else False),
            )
        )


def parse_page(body: bytes, content_type: str, base: str) -> list[IndexFile]:
    """The file links of a project page, JSON (PEP 691) or HTML (PEP 503)."""
    if "json" in content_type:
        data = json.loads(body)
        return [
            IndexFile(
                filename=item["filename"],
                url=urljoin(base, item["url"]),
                sha256=(item.get("hashes") or {}).get("sha256"),
                requires_python=item.get("requires-python") or None,
                yanked=bool(item.get("yanked")),
                metadata=_metadata_hash(item.get("core-metadata", item.get("dist-info-metadata"))),
            )
            for item in data.get("files", [])
        ]
    parser = _Links(base)
    parser.feed(body.decode("utf-8", "replace"))
    return parser.files


def _version_of(filename: str) -> Optional[Version]:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None  # eggs, exes, odd names: neither pip nor uv uses them


def _admits(requires_python: Optional[str], version: str) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores a malformed Requires-Python too


def _considered(file: IndexFile, target: TargetPython) -> bool:
    """A file pip would consider for the target: not yanked, and its Requires-Python admits it."""
    return not file.yanked and _admits(file.requires_python, target.version)


def _usable_wheel(file: IndexFile, target: TargetPython) -> bool:
    """A wheel whose tags the target supports."""
    return file.filename.endswith(".whl") and target.supports_wheel(file.filename)


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file, fetched in HTTP ranges as read."""

    def __init__(self, client: IndexClient, url: str, size: int, tail: bytes) -> None:
        super().__init__()
        self.client, self.url, self.size, self.position = client, url, size, 0
        self.chunks: list[tuple[int, bytes]] = [(size - len(tail), tail)]

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, size: Optional[int] = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.position + size)
        if end <= self.position:
            return b""
        for start, data in self.chunks:
            if start <= self.position and end <= start + len(data):
                piece = data[self.position - start : end - start]
                self.position = end
                return piece
        last = min(self.size, max(end, self.position + RANGE_BYTES)) - 1
        data, headers = self.client._get(self.url, byte_range=f"{self.position}-{last}")
        if not headers.get("Content-Range", "").startswith(f"bytes {self.position}-"):
            raise Unverified(f"{strip_auth(self.url)} did not answer a range request")
        self.chunks.append((self.position, data))
        return self.read(end - self.position)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class IndexClient:
    """Project pages (merged across the indexes, as pip does) and wheel metadata, in threads."""

    def __init__(self, index_urls: Sequence[str]) -> None:
        self.index_urls = list(index_urls)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="envctl-index")
        self._pages: dict[str, Future[list[IndexFile]]] = {}
        self._sdists: dict[str, Future[tuple[list[str], Optional[Message]]]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _get(
        self, url: str, accept: Optional[str] = None, byte_range: Optional[str] = None
    ) -> tuple[bytes, Message]:
        """(body, response headers) of a GET; ``byte_range`` asks for part of it (RFC 9110)."""
        headers = {"Accept": accept} if accept else {}
        if byte_range:
            headers["Range"] = f"bytes={byte_range}"
        try:
            with open_url(url, self.index_urls, headers, timeout=TIMEOUT_S) as response:
                return response.read(), response.headers
        except urllib.error.HTTPError as exc:
            kind = _NotFound if exc.code == 404 else Unverified
            raise kind(f"cannot read {strip_auth(url)}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unverified(f"cannot read {strip_auth(url)}: {exc}") from None

    def _page(self, name: str) -> list[IndexFile]:
        files: list[IndexFile] = []
        for index in self.index_urls:
            url = strip_auth(index).rstrip("/") + f"/{name}/"  # credentials: a header
            try:
                body, headers = self._get(url, _ACCEPT)
            except _NotFound:
                continue  # not on this index (pip merges what every index has)
            files += parse_page(body, headers.get("Content-Type", ""), url)
        return files

    def page(self, name: str) -> Future[list[IndexFile]]:
        """The files of project ``name`` on every index (fetch started once, then shared)."""
        key = canonicalize_name(name)
        if key not in self._pages:
            self._pages[key] = self._pool.submit(self._page, key)
        return self._pages[key]

    def _metadata(self, file: IndexFile) -> Message:
        if file.metadata is not None:
            body, _ = self._get(file.url + ".metadata")
            if file.metadata and hashlib.sha256(body).hexdigest() != file.metadata:
                raise Unverified(f"the metadata of {file.filename} does not match its sha256")
            return HeaderParser().parsestr(body.decode("utf-8", "replace"))
        # No PEP 658 file: read METADATA out of the wheel, fetching only the zip's tail (its
        # central directory, where .dist-info usually sits) and what else it points to, as
        # pip's and uv's lazy wheels do; a server that ignores Range sends the whole wheel.
        tail, headers = self._get(file.url, byte_range=f"-{TAIL_BYTES}")
        total = headers.get("Content-Range", "").rpartition("/")[2]
        if total.isdigit():
            archive = cast(IO[bytes], _RangeFile(self, file.url, int(total), tail))
        else:
            if file.sha256 and hashlib.sha256(tail).hexdigest() != file.sha256:
                raise Unverified(f"{file.filename} does not match its sha256")
            archive = io.BytesIO(tail)
        with zipfile.ZipFile(archive) as wheel:
            path = next(
                (n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(
                    ".dist-info/METADATA")),
                None,
            )  # fmt: skip
            if path is None:
                raise Unverified(f"{file.filename} has no METADATA")
            body = wheel.read(path)
        return HeaderParser().parsestr(body.decode("utf-8", "replace"))

    def metadata(self, file: IndexFile) -> Future[Message]:
        """The core metadata of wheel ``file``."""
        return self._pool.submit(self._metadata, file)

    def metadata_on_page(self, name: str, filename: str) -> Future[Message]:
        """The core metadata of wheel ``filename`` of ``name``, fetched once its page is in.

        Call after ``page(name)``: the pool runs tasks in order, so the page is being fetched
        when this waits for it.
        """
        page = self.page(name)

        def fetch() -> Message:
            listed = {f.filename: f for f in page.result()}
            if filename not in listed:
                raise Unverified(f"{filename} is not on the index")
            return self._metadata(listed[filename])

        return self._pool.submit(fetch)

    def _sdist(self, file: IndexFile) -> tuple[list[str], Optional[Message]]:
        data, _ = self._get(file.url)
        if file.sha256 and hashlib.sha256(data).hexdigest() != file.sha256:
            raise Unverified(f"{file.filename} does not match its sha256")
        members, pkg_info = [], None
        try:
            if file.filename.endswith(".zip"):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    members = archive.namelist()
                    top = [n for n in members if n.count("/") == 1 and n.endswith("/PKG-INFO")]
                    pkg_info = archive.read(top[0]) if top else None
            else:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                    for member in archive:
                        members.append(member.name)
                        if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                            extracted = archive.extractfile(member)
                            pkg_info = extracted.read() if extracted else None
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise Unverified(f"{file.filename} is not a readable sdist: {exc}") from None
        text = pkg_info.decode("utf-8", "replace") if pkg_info is not None else None
        members = [m.split("/", 1)[1] for m in members if "/" in m.strip("/")]  # as unpacked
        return members, HeaderParser().parsestr(text) if text is not None else None

    def sdist(self, file: IndexFile) -> Future[tuple[list[str], Optional[Message]]]:
        """(member paths below its top directory, PKG-INFO) of sdist ``file``, downloaded and
        hash-checked (once)."""
        if file.url not in self._sdists:
            self._sdists[file.url] = self._pool.submit(self._sdist, file)
        return self._sdists[file.url]


def _requirement(text: str) -> Requirement:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise Unverified(f"cannot read requirement {text!r}: {exc}") from None
    if requirement.url:
        raise Unverified(f"{requirement.name} is a direct URL requirement")
    return requirement


def _applies(requirement: Requirement, target: TargetPython, extras: Iterable[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = target.marker_environment()
    return any(requirement.marker.evaluate({**environment, "extra": e}) for e in ("", *extras))


def _is_native_wheel(filename: str) -> bool:
    tags: frozenset[Tag] = parse_wheel_filename(filename)[3]
    return any(t.abi != "none" or t.platform != "any" for t in tags)


def sdist_only(
    env: Environment,
    target: TargetPython,
    requirements: Sequence[str],
    client: IndexClient,
    early: Optional[Callable[[LockedFile], None]] = None,
) -> list[str]:
    """The required projects with no usable wheel in any version that fits: uv may use their
    sdists (``--no-binary``), as pip must. Unreadable requirements and pages count as not.
    The newest sdist of each starts downloading for ``verify`` while uv resolves, and is
    handed to ``early`` (the sdist the lock will most likely hold, for a caller to prepare).
    """
    found: list[str] = []
    for text in requirements:
        try:
            requirement = _requirement(text)
            if not _applies(requirement, target, ()):
                continue  # not needed on the target
            files = client.page(requirement.name).result()
        except Unverified:
            continue
        allow_pre = env.pre_release or bool(requirement.specifier.prereleases)
        fits = [
            f
            for f in files
            if _considered(f, target)
            and (v := _version_of(f.filename)) is not None
            and (allow_pre or not v.is_prerelease)
            and requirement.specifier.contains(v, prereleases=True)
        ]
        if fits and not any(_usable_wheel(f, target) for f in fits):
            found.append(canonicalize_name(requirement.name))
            newest = max(fits, key=lambda f: _version_of(f.filename) or Version("0"))
            if not newest.filename.endswith(".whl"):
                client.sdist(newest)
                version = _version_of(newest.filename)
                if early is not None and newest.sha256 and version is not None:
                    name = canonicalize_name(requirement.name)
                    early(
                        LockedFile(name, str(version), newest.filename, strip_auth(newest.url),
                                   newest.sha256, None, "sdist")
                    )  # fmt: skip
    return found


@dataclass(frozen=True)
class Verified:
    """What pip would also have seen: native sdists it refused, sdists found pure."""

    newer_natives: tuple[NewerNative, ...]  # first reached first
    pure_sdists: frozenset[str]  # filenames of the locked sdists, scanned: no compiled code


def _static_requirements(pkg_info: Optional[Message]) -> list[str]:
    """An sdist's Requires-Dist when PEP 643 makes them final (metadata 2.2+, not dynamic)."""
    if pkg_info is None:
        return []
    try:
        version = Version(str(pkg_info.get("Metadata-Version", "1.0")))
    except InvalidVersion:
        return []
    dynamic = {str(d).strip().lower() for d in pkg_info.get_all("Dynamic") or []}
    if version < Version("2.2") or "requires-dist" in dynamic:
        return []  # unknown: a dependency uv saw is then unreached and verification refuses
    return [str(line) for line in pkg_info.get_all("Requires-Dist") or []]


def verify(
    env: Environment,
    target: TargetPython,
    requirements: Sequence[str],
    constraints: Sequence[str],
    chosen: dict[str, tuple[str, tuple[tuple[str, str], ...]]],
    client: IndexClient,
) -> Verified:
    """Confirm that pip would lock ``chosen`` (``{name: (version, ((filename, sha256), ...))}``)
    for ``requirements`` under ``constraints``; raise :class:`Unverified` if not.

    A package uv locked as an sdist (``--no-binary``: it has no wheel for the target) must be
    pure Python: it is downloaded and scanned like the pip driver scans, and its PKG-INFO gives
    its dependencies when PEP 643 says they are final. Otherwise it is taken to have none.
    """
    roots = [_requirement(text) for text in requirements]
    pinned = [_requirement(text) for text in constraints]
    pages = {name: client.page(name) for name in chosen}
    packs: dict[str, str] = {}  # the file each package packs: its best wheel, else its sdist
    for name, (version, files) in chosen.items():
        wheels = [f for f, _ in files if f.endswith(".whl") and target.supports_wheel(f)]
        sdists = [f for f, _ in files if not f.endswith(".whl")]
        if wheels:
            packs[name] = max(wheels, key=lambda f: (target.wheel_rank(f), f))
        elif sdists and env.allow_sdist:
            packs[name] = sdists[0]
        else:
            raise Unverified(f"{name} {version}: uv locked no file the target can use")
    # Each wheel's metadata is fetched as soon as its page is in (pages were queued first).
    metadata = {n: client.metadata_on_page(n, f) for n, f in packs.items() if f.endswith(".whl")}
    by_name = {name: {f.filename: f for f in future.result()} for name, future in pages.items()}
    packed: dict[str, IndexFile] = {}
    for name, (version, files) in chosen.items():
        for filename, sha256 in files:
            listed = by_name[name].get(filename)
            if listed is None or listed.sha256 != sha256:
                raise Unverified(f"{filename} is not on the index with the sha256 uv locked")
        best = by_name[name][packs[name]]
        if best.yanked:
            raise Unverified(f"{best.filename} is yanked")
        if not _admits(best.requires_python, target.version):
            raise Unverified(f"{name} {version} requires Python {best.requires_python}")
        packed[name] = best
    scans = {n: client.sdist(f) for n, f in packed.items() if not f.filename.endswith(".whl")}
    depends: dict[str, list[str]] = {}
    for name, future in scans.items():
        members, pkg_info = future.result()
        found = native_sources(members)
        if found:
            raise Unverified(f"{packed[name].filename} has compiled code ({found[0]}, ...)")
        depends[name] = _static_requirements(pkg_info)

    specifiers: dict[str, SpecifierSet] = {name: SpecifierSet() for name in chosen}
    extras: dict[str, set[str]] = {}
    order: list[str] = []  # packages in the order the closure reaches them
    for requirement in pinned:
        if canonicalize_name(requirement.name) in specifiers:
            specifiers[canonicalize_name(requirement.name)] &= requirement.specifier
    queue: list[tuple[Requirement, tuple[str, ...]]] = [(r, ()) for r in roots]
    while queue:
        requirement, parent_extras = queue.pop(0)
        if not _applies(requirement, target, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        if name not in chosen:
            raise Unverified(f"{name} is required but uv did not lock it")
        specifiers[name] &= requirement.specifier
        wanted = {canonicalize_name(e) for e in requirement.extras}
        if name in extras and wanted <= extras[name]:
            continue
        if name not in extras:
            order.append(name)
        extras.setdefault(name, set()).update(wanted)
        if name not in depends:
            depends[name] = _wheel_requirements(name, chosen[name][0], metadata[name], target)
        active = tuple(sorted(extras[name]))
        queue += [(_requirement(line), active) for line in depends[name]]
    unreached = sorted(set(chosen) - set(order))
    if unreached:
        raise Unverified(f"uv locked {', '.join(unreached)}, which nothing requires here")
    newer_natives = []
    for name in order:
        locked = Version(chosen[name][0])
        if not specifiers[name].contains(locked, prereleases=True):
            raise Unverified(f"{name} {locked} does not satisfy {specifiers[name]}")
        if locked.is_prerelease and not (env.pre_release or specifiers[name].prereleases):
            raise Unverified(f"{name} {locked} is a pre-release nothing asked for")
        if name in scans:
            _no_wheel_pip_prefers(env, target, name, locked, specifiers[name], by_name[name])
        native = _newer_than_chosen(
            env, target, name, locked, specifiers[name], by_name[name], name in scans
        )
        if native is not None:
            newer_natives.append(native)
    pure = frozenset(packed[name].filename for name in scans)
    return Verified(_scanned(newer_natives, client), pure)


def _wheel_requirements(
    name: str, version: str, future: Future[Message], target: TargetPython
) -> list[str]:
    """Requires-Dist of a locked wheel, after checking its metadata is that wheel's."""
    message = future.result()
    if canonicalize_name(str(message.get("Name", ""))) != name or Version(
        str(message.get("Version", "0"))
    ) != Version(version):
        raise Unverified(f"the metadata of {name} {version} names another project or version")
    if not _admits(message.get("Requires-Python"), target.version):
        raise Unverified(f"{name} {version} requires Python {message['Requires-Python']}")
    return [str(line) for line in message.get_all("Requires-Dist") or []]


def _no_wheel_pip_prefers(
    env: Environment,
    target: TargetPython,
    name: str,
    chosen: Version,
    specifier: SpecifierSet,
    files: dict[str, IndexFile],
) -> None:
    """A locked sdist is pip's choice only if its version has no usable wheel, nor (with
    ``prefer_binary``) any other version that fits. Newer versions: ``_newer_than_chosen``.
    """
    for file in files.values():
        version = _version_of(file.filename)
        if (
            version is not None
            and (version == chosen or env.prefer_binary)
            and _usable_wheel(file, target)
            and _considered(file, target)
            and specifier.contains(version, prereleases=env.pre_release or None)
        ):
            raise Unverified(f"{name} {version} has a wheel, which pip prefers to an sdist")


def _newer_than_chosen(
    env: Environment,
    target: TargetPython,
    name: str,
    chosen: Version,
    specifier: SpecifierSet,
    files: dict[str, IndexFile],
    chosen_is_sdist: bool = False,
) -> Optional[NewerNative]:
    """Does pip's preference keep ``chosen``? The newer native sdist it refuses, if any."""
    allow_pre = env.pre_release or bool(specifier.prereleases)
    versions: dict[Version, list[IndexFile]] = {}
    for file in files.values():
        version = _version_of(file.filename)
        if version is not None and version > chosen:
            versions.setdefault(version, []).append(file)
    newest_sdist: Optional[Version] = None
    for version in sorted(versions, reverse=True):
        if (version.is_prerelease and not allow_pre) or not specifier.contains(
            version, prereleases=True
        ):
            continue
        usable = [f for f in versions[version] if _considered(f, target)]
        if any(_usable_wheel(f, target) for f in usable):
            raise Unverified(f"{name} {version} has a wheel for the target and fits")
        has_sdist = any(not f.filename.endswith(".whl") for f in usable)
        if env.allow_sdist and has_sdist and newest_sdist is None:
            newest_sdist = version
    if newest_sdist is not None and chosen_is_sdist:
        raise Unverified(f"{name} {newest_sdist} is a newer sdist pip would use")
    if newest_sdist is None or env.prefer_binary:
        return None  # no newer version pip could use, or pip prefers the older wheel as uv did
    if env.native_builds == "prefer-newest":
        raise Unverified(f"{name} {newest_sdist} is a newer sdist pip would use or compile")
    evidence = tuple(
        f.filename
        for f in versions[newest_sdist]
        if f.filename.endswith(".whl") and _is_native_wheel(f.filename)
    )
    sdist = next(
        f
        for f in versions[newest_sdist]
        if not f.filename.endswith(".whl") and _considered(f, target)
    )
    return NewerNative(name, str(newest_sdist), evidence, None if evidence else sdist)


def _scanned(newer: Sequence[NewerNative], client: IndexClient) -> tuple[NewerNative, ...]:
    """``newer`` with the sdist-only ones scanned as the pip driver scans them: compiled code
    means pip refuses them too; a pure one is what pip would lock (:class:`Unverified`).
    """
    scans = {n.name: client.sdist(n.sdist) for n in newer if n.sdist is not None}
    result = []
    for native in newer:
        if native.sdist is not None:
            found = native_sources(scans[native.name].result()[0])
            if not found:
                raise Unverified(f"{native.name} {native.version} is a newer sdist pip would use")
            native = NewerNative(native.name, native.version, tuple(found[:5]))
        result.append(native)
    return tuple(result)
