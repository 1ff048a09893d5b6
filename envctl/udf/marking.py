"""Attach archive resources to a UDF the way MaxFrame expects, with or without MaxFrame.

With ``maxframe`` installed the result is exactly ``maxframe.udf.with_resources(...)(func)``
(a ``MarkedFunction``), so it composes with MaxFrame's other decorators and
``maxframe.udf.get_udf_resources`` reports it. Without it (maxframe is an optional extra),
the plain function is returned carrying ``__envctl_resources__`` so it still runs locally.
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import Any, Callable, Optional, Sequence, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

RESOURCES_ATTR = "__envctl_resources__"


@lru_cache(maxsize=1)
def maxframe_udf() -> Optional[ModuleType]:
    """``maxframe.udf`` when importable, else None (looked up once per process)."""
    try:
        from maxframe import udf
    except ImportError:
        return None
    return udf  # type: ignore[no-any-return]  # maxframe ships no type information


def mark(func: F, resources: Sequence[str]) -> Any:
    """Make MaxFrame ship ``resources`` with ``func``; returns what the caller should use."""
    udf = maxframe_udf()
    if udf is not None:
        return udf.with_resources(*resources)(func)
    existing = list(getattr(func, RESOURCES_ATTR, ()))
    try:
        setattr(func, RESOURCES_ATTR, existing + [r for r in resources if r not in existing])
    except (AttributeError, TypeError):  # builtins and slotted callables cannot take attributes
        import functools

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        setattr(wrapper, RESOURCES_ATTR, existing + list(resources))
        return wrapper
    return func


def resources_of(func: Callable[..., Any]) -> list[str]:
    """Resources attached by envctl or MaxFrame, whichever marked ``func``."""
    found = list(getattr(func, RESOURCES_ATTR, None) or [])
    for name in getattr(func, "file_resources", None) or []:
        if name not in found:
            found.append(name)
    return found
