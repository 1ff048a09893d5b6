"""UDF decorators: ship a named environment's archive, or an ad-hoc build, with a function.

``with_python_requirements`` is a drop-in for ``maxframe.udf.with_python_requirements`` with
one addition, ``env=``; ``with_environment(name)`` references a deployed environment only.
Resolution happens when the decorator is applied (at import of the UDF module), so a missing
environment fails fast on the client rather than on the cluster. Under ``envctl exec`` (which
sets ``ENVCTL_EXEC``) the decorators return functions unchanged: the packages are local.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from envctl import settings
from envctl.udf.marking import mark, resources_of
from envctl.udf.resolution import Query, Resolution, resolve

__all__ = ["Resolution", "resolve", "resources_of", "with_environment", "with_python_requirements"]


def _decorator(query: Query) -> Callable[[Callable[..., Any]], Any]:
    def decorate(func: Callable[..., Any]) -> Any:
        if settings.EXEC.get():
            return func  # running locally under `envctl exec`: the packages are importable already
        return mark(func, [resolve(query).resource])

    return decorate


def with_python_requirements(
    *requirements: str,
    env: Optional[str] = None,
    force_rebuild: bool = False,
    prefer_binary: bool = False,
    pre_release: bool = False,
    no_audit_wheel: bool = False,
    target: Optional[str] = None,
    python: Optional[str] = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Make the decorated UDF run with ``requirements`` (PEP 508 strings, several per string).

    ``env``: use that environment's deployed archive when it exists, else build ad hoc with
    its spec's python/platform/indexes. ``force_rebuild``: re-resolve to the latest versions
    and store a long-term archive (once per process). ``prefer_binary``/``pre_release`` as in
    pip. ``no_audit_wheel`` is accepted for MaxFrame compatibility; envctl never repairs wheels,
    it only installs wheels already tagged for the target platform. ``target``/``python``
    override ``ENVCTL_TARGET``/``ENVCTL_PYTHON``.
    """
    del no_audit_wheel
    query = Query(
        environment=env,
        requirements=tuple(requirements),
        force_rebuild=force_rebuild,
        prefer_binary=prefer_binary,
        pre_release=pre_release,
        target=target,
        python=python,
    )
    return _decorator(query)


def with_environment(name: str, *, target: Optional[str] = None) -> Callable[[Callable[..., Any]], Any]:
    """Make the decorated UDF run with the deployed environment ``name`` (no ad-hoc fallback)."""
    return _decorator(Query(environment=name, target=target))
