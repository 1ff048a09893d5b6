"""UDF decorators: a named environment's archive, or requirements, with a function.

``with_python_requirements`` is a drop-in for ``maxframe.udf.with_python_requirements`` with
one addition, ``env=``; ``with_environment(name)`` references a named environment only.
Decorating costs no build: a deployed environment is one cached state read; requirements go
to MaxFrame's server-side packer (``ENVCTL_ADHOC=service``, the default) or are built on this
machine in the background (``ENVCTL_ADHOC=client``) under a name fixed in advance, and the
job's submission waits for them (:func:`ready` waits explicitly). Every decision is made by
:func:`envctl.udf.decide.decide`. Under ``envctl exec`` the decorators return functions
unchanged: the packages are already importable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from envctl.udf.background import pending, ready
from envctl.udf.decide import Decision, Query
from envctl.udf.marking import StackedDecoratorWarning, resources_of
from envctl.udf.resolution import resolve
from envctl.udf.session import EXEC_ENV_VAR
from envctl.udf.sql_udf import activate

__all__ = [
    "EXEC_ENV_VAR",
    "Decision",
    "StackedDecoratorWarning",
    "activate",
    "configure",
    "pending",
    "ready",
    "resolve",
    "resources_of",
    "with_environment",
    "with_python_requirements",
]


def configure(*, odps: Any = None) -> None:
    """Hand envctl an ``odps.ODPS`` entry (a DataWorks node's or a notebook's ``o``).

    Its account then signs every ``odps://`` target of this process, before any variable, and
    without ``target=``/``ENVCTL_TARGET`` its project (and endpoint) is the target.
    ``configure(odps=None)`` forgets it. The entry stays in memory only.
    """
    from envctl.targets.credentials import configure_entry
    from envctl.udf.resolution import clear_memo

    configure_entry(odps)
    clear_memo()  # earlier answers were made for another target or account


def _decorator(query: Query) -> Callable[[Callable[..., Any]], Any]:
    def decorate(func: Callable[..., Any]) -> Any:
        from envctl.udf.publish import apply_decision

        return apply_decision(resolve(query), func)

    return decorate


def with_python_requirements(
    *requirements: str,
    env: str | None = None,
    force_rebuild: bool = False,
    prefer_binary: bool = False,
    pre_release: bool = False,
    no_audit_wheel: bool = False,
    target: str | None = None,
    python: str | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Make the decorated UDF run with ``requirements`` (PEP 508 strings, several per string).

    ``env``: that environment's deployed archive, else its committed lock (never a fresh
    resolution); ``requirements`` must then be satisfied by the locked versions. Without
    ``env`` the requirements are packed by MaxFrame (service mode) or by envctl (client mode).
    ``force_rebuild``/``prefer_binary``/``pre_release``/``no_audit_wheel`` as in MaxFrame
    (``no_audit_wheel``: sdists envctl compiles skip ``auditwheel repair``; still checked).
    ``target``/``python`` override ``ENVCTL_TARGET``/the session's Python for client builds.
    """
    query = Query(
        environment=env,
        requirements=tuple(requirements),
        force_rebuild=force_rebuild,
        prefer_binary=prefer_binary,
        pre_release=pre_release,
        target=target,
        python=python,
        no_audit_wheel=no_audit_wheel,
    )
    return _decorator(query)


def with_environment(
    name: str, *, target: str | None = None
) -> Callable[[Callable[..., Any]], Any]:
    """Make the decorated UDF run with the environment ``name`` (deployed, else its lock)."""
    return _decorator(Query(environment=name, target=target))
