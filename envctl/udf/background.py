"""Client-side builds that never block import: queued at decoration, awaited at submission.

A decorator that needs an archive built on this machine already knows the resource name it
will have (fixed by the request key, or by the lock), so it marks the function at once and
queues the build and upload here. Two things wait for the queue:

* MaxFrame itself: the function is wrapped in :class:`Deferred`, whose pickling (MaxFrame
  serializes every UDF into the DAG it submits) waits for that function's build and then
  pickles the plain function, so the cluster needs no envctl;
* :func:`ready`, for scripts that want to wait (and see failures) before submitting.

Progress goes to stderr: one line when a build is queued, one when it is published.
"""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from envctl import console
from envctl.errors import EnvctlError

WORKERS = 2


@dataclass(frozen=True)
class Published:
    """What a build job yields: the resource name, and until when that answer holds."""

    name: str
    fresh_until: float  # time.time(); a temporary archive expires, anything may be deleted


@dataclass
class Job:
    """One queued build; ``future`` yields where it was published.

    The future resolves only after :meth:`run` has handed the name to every
    :meth:`when_published` callback, so whatever waits for it (:func:`ready`, MaxFrame's
    serialization of a :class:`Deferred`) sees the functions already carrying the name.
    """

    key: str
    description: str
    work: Callable[[], Published]
    future: Future[Published] = field(init=False)
    started: float = field(default_factory=time.monotonic)
    _callbacks: list[Callable[[str], None]] = field(default_factory=list, init=False)
    _published: str | None = field(default=None, init=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def stale(self) -> bool:
        """Finished long enough ago that the target must be asked again (or it failed)."""
        if not self.future.done():
            return False
        return (
            self.future.exception() is not None or self.future.result().fresh_until <= time.time()
        )

    def run(self) -> Published:
        """The worker's part: build and publish, then run the callbacks, then resolve."""
        try:
            published = self.work()
        except BaseException as exc:
            elapsed = time.monotonic() - self.started
            console.warn(f"envctl: {self.description} failed after {elapsed:.1f} s: {exc}")
            raise
        with self._guard:
            self._published, callbacks = published.name, list(self._callbacks)
        for callback in callbacks:
            callback(published.name)
        console.info(f"envctl: {published.name} is ready ({time.monotonic() - self.started:.1f} s)")
        return published

    def when_published(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` once published: now if it is, else before the future resolves."""
        with self._guard:
            name = self._published
            if name is None:
                self._callbacks.append(callback)
                return
        callback(name)

    def wait(self, timeout: float | None = None) -> str:
        """The published name; raises EnvctlError when the build or upload failed."""
        try:
            return self.future.result(timeout).name
        except EnvctlError:
            raise
        except TimeoutError:
            raise EnvctlError(
                f"{self.description} is still running after {timeout:.0f} s"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any failure in the worker becomes one line
            raise EnvctlError(f"{self.description} failed: {exc}") from None


_lock = threading.Lock()
_jobs: dict[str, Job] = {}
_executor: ThreadPoolExecutor | None = None


def submit(key: str, description: str, work: Callable[[], Published]) -> Job:
    """Queue ``work`` once per ``key``; a failed or stale job is queued again. Returns its job."""
    global _executor
    with _lock:
        job = _jobs.get(key)
        if job is not None and not job.stale:
            return job
        if _executor is None:
            _executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="envctl-build")
        job = Job(key, description, work)
        job.future = _executor.submit(job.run)
        _jobs[key] = job
    console.info(
        f"envctl: {description} in the background (submission waits for it; envctl.udf.ready() too)"
    )
    return job


def pending() -> list[str]:
    """Descriptions of the builds still running."""
    with _lock:
        return [job.description for job in _jobs.values() if not job.future.done()]


def ready(timeout: float | None = None) -> list[str]:
    """Wait for every queued build; the published names. Raises EnvctlError on the first failure."""
    with _lock:
        jobs = list(_jobs.values())
    deadline = None if timeout is None else time.monotonic() + timeout
    names = []
    for job in jobs:
        left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        names.append(job.wait(left))
    return names


def forget() -> None:
    """Drop finished jobs (tests and long-lived notebooks after a purge)."""
    with _lock:
        for key in [k for k, j in _jobs.items() if j.future.done()]:
            del _jobs[key]


class Deferred:
    """A UDF whose archive is still being built: calls pass through, pickling waits.

    ``__wrapped__`` is deliberately absent, so MaxFrame's unwrapping stops here and the
    function is serialized through :meth:`__reduce_ex__`.
    """

    __slots__ = ("__weakref__", "func", "job", "late")

    def __init__(self, func: Callable[..., Any], job: Job, *, late: bool = False) -> None:
        self.func = func
        self.job = job
        self.late = late  # the resource name is attached only when the build ends

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __getattr__(self, item: str) -> Any:
        if item == "__wrapped__":
            raise AttributeError(item)
        return getattr(self.func, item)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        if self.late and not self.job.future.done():
            # MaxFrame has already serialized the resource list: waiting now would ship none
            raise EnvctlError(
                f"{self.job.description} is still running; "
                "call envctl.udf.ready() before submitting"
            )
        job = (
            submit(self.job.key, self.job.description, self.job.work)
            if self.job.stale
            else self.job
        )
        job.wait()
        # unpickles as the plain function (operator.getitem((func,), 0)): no envctl on the cluster
        return operator.getitem, ((self.func,), 0)

    def __repr__(self) -> str:
        return f"<envctl deferred {self.func!r}: {self.job.description}>"
