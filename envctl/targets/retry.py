"""Which remote failures are worth retrying, and the one backoff policy for all of them.

Why here: every target operation (not just apply) benefits, including the runtime's reads.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from envctl import settings

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
    if isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    ):
        return True
    return isinstance(
        exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, TimeoutError)
    )


def wait_scale() -> float:
    """``ENVCTL_RETRY_WAIT_SCALE`` (default 1): multiplies every backoff wait.

    Why: fault-injection tests and impatient local runs shorten the waits without changing the
    policy (attempt count, exponential growth) that production relies on.
    """
    return settings.RETRY_WAIT_SCALE.get()


def call_with_retries(
    fn: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    wait: float = 0.5,
    max_wait: float = 8.0,
) -> T:
    """Run ``fn`` with exponential backoff on transient errors; the last error is re-raised."""
    scale = wait_scale()
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait * scale, max=max_wait * scale),
        retry=retry_if_exception(is_transient),
        reraise=True,
    )
    return retrying(fn)
