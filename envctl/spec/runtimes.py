"""The Python runtimes MaxCompute runs UDFs on, as data.

MaxCompute's Python 3 UDF runtime is CPython 3.7.3 (``cp37``); newer projects also offer
CPython 3.11 (``cp311``). A MaxFrame session names its runtime by ``options.python_tag``
(``cpXY``). An environment for another version only runs in a custom image (MaxFrame's
``session.image_name``), which the spec says with ``custom_image: true``.
"""

from __future__ import annotations

MAXCOMPUTE_UDF_RUNTIMES: dict[str, str] = {"cp37": "3.7.3", "cp311": "3.11"}
"""Python tag -> the CPython version of that runtime (a minor alone: any patch level)."""


def python_tag(python: str) -> str:
    """``"3.7.3"`` or ``"3.7"`` -> ``"cp37"`` (what MaxFrame's ``options.python_tag`` holds)."""
    major, minor = python.strip().split(".")[:2]
    return f"cp{major}{minor}"


def runtime_python(tag: str) -> str | None:
    """The CPython version of MaxCompute runtime ``tag`` (``"cp37"`` -> ``"3.7.3"``), else None."""
    return MAXCOMPUTE_UDF_RUNTIMES.get(tag)


def is_maxcompute_runtime(python: str) -> bool:
    """Whether a spec's ``python`` runs on a MaxCompute UDF runtime (a full version must match)."""
    runtime = MAXCOMPUTE_UDF_RUNTIMES.get(python_tag(python))
    if runtime is None:
        return False
    given, known = python.strip().split("."), runtime.split(".")
    return len(given) < 3 or len(known) < 3 or given == known


def runtime_warning(name: str, python: str) -> str | None:
    """``validate``'s warning for an environment no MaxCompute UDF runtime can run, else None."""
    if is_maxcompute_runtime(python):
        return None
    known = ", ".join(f"{v} ({t})" for t, v in MAXCOMPUTE_UDF_RUNTIMES.items())
    return (
        f"environment {name!r}: python {python} is not a MaxCompute UDF runtime ({known}); "
        "set 'custom_image: true' if it runs in a custom image"
    )
