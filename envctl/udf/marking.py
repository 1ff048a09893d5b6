"""Attach archive resources to a UDF the way MaxFrame expects, with or without MaxFrame.

With ``maxframe`` installed the result is exactly ``maxframe.udf.with_resources(...)(func)``
(a ``MarkedFunction``), so it composes with MaxFrame's other decorators and
``maxframe.udf.get_udf_resources`` reports it. Without it (maxframe is an optional extra),
the plain function is returned carrying ``__envctl_resources__`` so it still runs locally.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TypeVar

if TYPE_CHECKING:
    from envctl.udf.decide import ServicePack

F = TypeVar("F", bound=Callable[..., Any])

RESOURCES_ATTR = "__envctl_resources__"

_our_packs: set[str] = set()
_pack_keys: dict[Any, str] = {}
"""Keys of the ``PythonPackOptions`` envctl asked MaxFrame for (anything else is the user's)."""


class StackedDecoratorWarning(UserWarning):
    """MaxFrame's ``with_python_requirements`` and envctl's decorate the same function."""


def _warn_if_stacked(func: Any) -> None:
    """Both decorators on one function ship an archive *and* a server-side pack: say so."""
    foreign = [p for p in getattr(func, "pythonpacks", None) or [] if p.key not in _our_packs]
    if foreign:
        requirements = " ".join(str(r) for p in foreign for r in p.requirements)
        warnings.warn(
            f"{getattr(func, '__name__', func)!r} also carries MaxFrame's with_python_requirements "
            f"({requirements}): the job gets envctl's packages and a server-side pack; "
            "use one decorator",
            StackedDecoratorWarning,
            stacklevel=4,
        )


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
        _warn_if_stacked(func)
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


def mark_service_pack(func: F, pack: ServicePack) -> Any:
    """``maxframe.udf.with_python_requirements(...)(func)``: MaxFrame packs on the server."""
    udf = maxframe_udf()
    if udf is None:  # decide() only chooses the service when MaxFrame is importable
        raise RuntimeError("service packing needs maxframe")
    _warn_if_stacked(func)
    key = _pack_keys.get(pack)
    if key is None:  # MaxFrame's own decorator, once: it computes the key (an arguments token)
        marked = udf.with_python_requirements(
            *pack.requirements,
            force_rebuild=pack.force_rebuild,
            prefer_binary=pack.prefer_binary,
            pre_release=pack.pre_release,
            no_audit_wheel=pack.no_audit_wheel,
        )(func)
        _pack_keys[pack] = key = marked.pythonpacks[-1].key
        _our_packs.add(key)
        return marked
    # the same options with the key already known: what MaxFrame's decorator builds, without
    # re-tokenizing the arguments for every function
    options = udf.PythonPackOptions(
        key=key,
        requirements=pack.requirements,
        force_rebuild=pack.force_rebuild,
        prefer_binary=pack.prefer_binary,
        pre_release=pack.pre_release,
        no_audit_wheel=pack.no_audit_wheel,
    )
    if isinstance(func, udf.MarkedFunction):
        func.pythonpacks.append(options)
        return func
    return udf.MarkedFunction(func, pythonpacks=[options])


def resources_of(func: Callable[..., Any]) -> list[str]:
    """Resources attached by envctl or MaxFrame, whichever marked ``func``."""
    found = list(getattr(func, RESOURCES_ATTR, None) or [])
    for name in getattr(func, "file_resources", None) or []:
        if name not in found:
            found.append(name)
    return found
