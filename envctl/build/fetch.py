"""Download exactly the locked files, in parallel, verifying each sha256 into the cache.

A file already in the cache (it is keyed by its hash) is never downloaded again. A download is
streamed into a temporary file while hashing; only a matching hash is renamed into place, so a
mismatch is a hard error that names the file and leaves nothing corrupt behind. Transient
network failures are retried with backoff; 4xx answers and hash mismatches are not.
"""

from __future__ import annotations

import hashlib
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from envctl import console
from envctl.build.cache import Cache
from envctl.build.size import human
from envctl.errors import EnvctlError
from envctl.files import atomic_path
from envctl.lock.lockfile import LockedFile
from envctl.progress import step
from envctl.spec.indexes import open_url, strip_auth

CHUNK = 1024 * 1024
DEFAULT_WORKERS = 8
TIMEOUT_S = 60


class HashMismatch(EnvctlError):
    pass


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, (urllib.error.URLError, TimeoutError, ConnectionError))


@retry(
    retry=retry_if_exception(_transient),
    stop=stop_after_attempt(4),
    wait=wait_exponential(0.5, max=8),
    reraise=True,
)
def _download(
    file: LockedFile, dest: Path, index_urls: Sequence[str], advance: Callable[[int], None]
) -> None:
    digest = hashlib.sha256()
    received = 0
    with atomic_path(dest) as tmp:
        try:
            with (
                open_url(file.url, index_urls, timeout=TIMEOUT_S) as response,
                tmp.open("wb") as out,
            ):
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    advance(len(chunk))
        except BaseException:
            advance(-received)  # the retry starts the file again
            raise
        if digest.hexdigest() != file.sha256:
            raise HashMismatch(
                f"sha256 mismatch for {file.filename} from {strip_auth(file.url)}: "
                f"expected {file.sha256}, got {digest.hexdigest()}; "
                "the file was not cached (index changed or tampered with?)"
            )


def fetch(
    files: Sequence[LockedFile],
    cache: Cache,
    *,
    index_urls: Sequence[str] = (),
    progress: bool = True,
    label: str = "",
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Path]:
    """Make every file available in the cache; returns ``{sha256: path}``.

    ``label`` (an environment name) starts the progress line:
    ``nlp: downloading 24 files (60.1 MiB)``; when the lock records no sizes (pip's reports have
    none) the size follows once downloaded.
    """
    paths = {f.sha256: cache.file_path(f.sha256, f.filename) for f in files}
    missing = [f for f in files if not paths[f.sha256].is_file()]
    if not missing:
        return paths
    total = sum(f.size or 0 for f in missing)
    sized = all(f.size for f in missing)
    prefix, count = (
        f"{label + ': ' if label else ''}",
        f"{len(missing)} file{'s' if len(missing) != 1 else ''}",
    )
    line = f"{prefix}downloading {count}" + (f" ({human(total)})" if sized else "")
    with step(line, total if sized else 0, enabled=progress) as advance:

        def one(file: LockedFile) -> None:
            dest = paths[file.sha256]
            with cache.filelock(f"file-{file.sha256}"):
                if dest.is_file():  # another process fetched it meanwhile
                    advance(file.size or 0)
                    return
                try:
                    _download(file, dest, index_urls, advance)
                except HashMismatch:
                    raise
                except (urllib.error.URLError, OSError) as exc:
                    reason = getattr(exc, "reason", None) or exc
                    raise EnvctlError(
                        f"cannot download {file.filename} from {strip_auth(file.url)}: {reason}"
                    ) from None

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(missing)))) as pool:
            for future in [pool.submit(one, f) for f in missing]:
                future.result()
    if progress and not sized:
        got = sum(paths[f.sha256].stat().st_size for f in missing)
        console.info(f"{prefix}downloaded {count} ({human(got)})")
    return paths
