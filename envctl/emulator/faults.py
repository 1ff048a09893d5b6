"""Fault injection and request counters, shared by the Python API and the HTTP control API.

A rule matches requests by HTTP method, a regex searched in the URL path (no query
string, still percent-encoded, e.g. ``/api/projects/p/resources/a.txt``) and/or the
request kind (``create``, ``part``, ``merge``, ``replace``, ``meta``, ``read``, ``list``,
``delete``, ``project``, ``tenant``). It starts firing on the ``nth`` matching request and
fires ``times`` times (``None``: forever). Actions: ``error`` (answer ``status`` with a
MaxCompute XML error), ``latency`` (sleep ``delay`` seconds, then serve normally) and
``drop`` (read ``after_bytes`` of the body, default half, then close the socket without
answering; a GET is cut before any response byte, and pyodps retries GETs).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

ACTIONS = ("error", "latency", "drop")


@dataclass
class FaultRule:
    action: str
    method: Optional[str] = None
    path: Optional[str] = None
    kind: Optional[str] = None
    nth: int = 1
    times: Optional[int] = 1
    status: int = 503
    delay: float = 0.0
    after_bytes: Optional[int] = None
    id: int = 0
    seen: int = 0
    fired: int = 0
    _pattern: Optional[re.Pattern[str]] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(
                f"unknown fault action {self.action!r}; expected one of {', '.join(ACTIONS)}"
            )
        if self.nth < 1:
            raise ValueError("nth counts matching requests from 1")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or null for every matching request)")
        if self.action == "error" and not 400 <= self.status <= 599:
            raise ValueError("an error fault needs an HTTP status between 400 and 599")
        self._pattern = re.compile(self.path) if self.path else None

    def matches(self, method: str, path: str, kind: str) -> bool:
        return (
            (self.method is None or self.method.upper() == method.upper())
            and (self.kind is None or self.kind == kind)
            and (self._pattern is None or self._pattern.search(path) is not None)
        )

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_pattern")
        return data


class FaultInjector:
    """Thread-safe rule list; ``decide`` consumes at most one firing per rule per request."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = next(self._ids)
            self._rules.append(rule)
        return rule

    def add_from_json(self, data: dict[str, Any]) -> FaultRule:
        allowed = {
            "action",
            "method",
            "path",
            "kind",
            "nth",
            "times",
            "status",
            "delay",
            "after_bytes",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        return self.add(FaultRule(**data))

    def fail(
        self,
        status: int = 503,
        *,
        method: Optional[str] = None,
        path: Optional[str] = None,
        kind: Optional[str] = None,
        nth: int = 1,
        times: Optional[int] = 1,
    ) -> FaultRule:
        """Answer the nth matching request (and ``times - 1`` more) with ``status``."""
        return self.add(FaultRule("error", method, path, kind, nth, times, status=status))

    def delay(
        self,
        seconds: float,
        *,
        method: Optional[str] = None,
        path: Optional[str] = None,
        kind: Optional[str] = None,
        nth: int = 1,
        times: Optional[int] = None,
    ) -> FaultRule:
        """Sleep before serving matching requests (every one by default)."""
        return self.add(FaultRule("latency", method, path, kind, nth, times, delay=seconds))

    def drop(
        self,
        *,
        after_bytes: Optional[int] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
        kind: Optional[str] = None,
        nth: int = 1,
        times: Optional[int] = 1,
    ) -> FaultRule:
        """Close the connection after reading ``after_bytes`` of the body (default: half)."""
        return self.add(FaultRule("drop", method, path, kind, nth, times, after_bytes=after_bytes))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.public() for rule in self._rules]

    def decide(self, method: str, path: str, kind: str) -> list[FaultRule]:
        """Rules that fire for this request, in the order they were added."""
        firing = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, kind):
                    continue
                rule.seen += 1
                exhausted = rule.times is not None and rule.fired >= rule.times
                if rule.seen >= rule.nth and not exhausted:
                    rule.fired += 1
                    firing.append(rule)
        return firing


class RequestStats:
    """Counters a test or benchmark reads to prove how many calls a client made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self.bytes_in = 0
        self.bytes_out = 0

    def record(self, method: str, kind: str) -> None:
        with self._lock:
            self._counts["total"] += 1
            self._counts[f"{method.upper()} {kind}"] += 1

    def add_bytes(self, received: int = 0, sent: int = 0) -> None:
        with self._lock:
            self.bytes_in += received
            self.bytes_out += sent

    def count(self, kind: Optional[str] = None, method: Optional[str] = None) -> int:
        """Requests of a kind and/or method; no arguments: all API requests."""
        with self._lock:
            if kind is None and method is None:
                return self._counts["total"]
            total = 0
            for key, value in self._counts.items():
                if key == "total":
                    continue
                key_method, key_kind = key.split(" ", 1)
                if (kind is None or key_kind == kind) and (
                    method is None or key_method == method.upper()
                ):
                    total += value
            return total

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_request = {k: v for k, v in sorted(self._counts.items()) if k != "total"}
            return {
                "total": self._counts["total"],
                "requests": by_request,
                "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out,
            }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.bytes_in = self.bytes_out = 0
