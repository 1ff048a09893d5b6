"""Which remote failures are worth retrying, and the one backoff policy for all of them.

Why here: every target operation (not just apply) benefits, including the runtime's reads.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

T = TypeVar("T")

DEFAULT_ATTEMPTS = 5


def is_transient(exc: BaseException) -> bool:
    """5xx answers, throttling, dropped or reset connections and timeouts: try again."""
    from odps import errors as odps_errors

    if isinstance(exc, (odps_errors.InternalServerError, odps_errors.RequestQuotaExceeded)):
        return True
    if isinstance(exc, odps_errors.ConnectTimeout):
        return True
    if isinstance(exc, odps_errors.ODPSError):
        status = getattr(exc, "status_code", None)
        return isinstance(status, int) and status >= 500
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return True
    return isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, TimeoutError))


def call_with_retries(
    fn: Callable[[], T], *, attempts: int = DEFAULT_ATTEMPTS, wait: float = 0.5, max_wait: float = 8.0
) -> T:
    """Run ``fn`` with exponential backoff on transient errors; the last error is re-raised."""
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait, max=max_wait),
        retry=retry_if_exception(is_transient),
        reraise=True,
    )
    return retrying(fn)
