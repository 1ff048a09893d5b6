"""Deployment targets and ``open_target``: the one place a ``--target`` URL is understood.

Accepted forms: ``local`` (the project's ``.envctl/store``), ``local:///abs/path`` or
``file:///abs/path`` (a directory store), and
``odps://<project>?endpoint=<url>[&schema=<schema>][&chunk_size=<bytes>][&parallel=<parts>]``
(MaxCompute resources, in one schema of a schema-enabled project when ``schema`` is given;
``parallel`` parts of ``chunk_size`` bytes in flight per upload).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

from envctl import settings
from envctl.console import redact
from envctl.errors import EnvctlError
from envctl.spec.project import Project
from envctl.targets.base import (
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    Target,
    TargetError,
    TransientError,
)

FORMS = "use 'local', 'local:///path', 'file:///path' or 'odps://<project>?endpoint=<url>'"
_SCHEMA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
"""MaxCompute object naming: a letter, then letters, digits and underscores."""

__all__ = [
    "ObjectExists",
    "ObjectInfo",
    "ObjectMissing",
    "Target",
    "TargetError",
    "TransientError",
    "open_target",
    "open_url",
]


def _bad(url: str, why: str) -> EnvctlError:
    return EnvctlError(f"bad target {redact(url)!r}: {why}; {FORMS}")


def _local(url: str, path: str) -> Target:
    from envctl.targets.local import LocalTarget

    if not path or not path.startswith("/"):
        raise _bad(url, "a local target needs an absolute path (three slashes)")
    return LocalTarget(Path(unquote(path)))


def _odps(
    url: str, project: str, query: str, credential_vars: Optional[dict[str, str]] = None
) -> Target:
    from envctl.targets.odps import OdpsTarget

    params = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(params) - {"endpoint", "chunk_size", "parallel", "schema"})
    if unknown:
        raise _bad(url, f"unknown parameter {unknown[0]!r}")
    endpoint = (params.get("endpoint") or [""])[-1]
    if not project:
        raise _bad(url, "missing the MaxCompute project name")
    if not endpoint.startswith(("http://", "https://")):
        raise _bad(url, "needs endpoint=http(s)://... (the MaxCompute service endpoint)")
    chunk_text = (params.get("chunk_size") or [""])[-1]
    kwargs = {}
    if chunk_text:
        if not chunk_text.isdigit() or int(chunk_text) < 1:
            raise _bad(url, "chunk_size must be a positive number of bytes")
        kwargs["chunk_size"] = int(chunk_text)
    parallel_text = (params.get("parallel") or [""])[-1]
    if parallel_text:
        if not parallel_text.isdigit() or not 1 <= int(parallel_text) <= 64:
            raise _bad(url, "parallel must be a number of parts from 1 to 64")
        kwargs["parallel"] = int(parallel_text)
    schema = (params.get("schema") or [""])[-1]
    if schema and not _SCHEMA_NAME.fullmatch(schema):
        raise _bad(url, f"invalid schema name {schema!r}")
    return OdpsTarget(
        unquote(project), endpoint, credential_vars=credential_vars, schema=schema or None, **kwargs
    )


def open_target(url: Optional[str], project: Project) -> Target:
    """The target for ``--target`` (else ``ENVCTL_TARGET``, else the project of an ``odps.ODPS``
    entry handed over in Python (``envctl.udf.configure(odps=o)`` or the MaxFrame session's),
    else the ``default = true`` target of ``envctl.toml``, else the project's local store).
    A configured target's name (see ``envctl.targets.config``) stands for its URL and
    credential variables.
    """
    from envctl.targets.config import load_config, select
    from envctl.targets.credentials import python_entry

    chosen = url or settings.TARGET.get()
    if not chosen:
        entry = python_entry()[0]
        if entry is not None:  # handed over in Python: its project is where the code runs
            from envctl.targets.odps import OdpsTarget, entry_location

            return OdpsTarget(**entry_location(entry))
    url, named = select(chosen, load_config(project))
    return open_url(url, project, named.credential_vars if named else None)


def open_url(
    url: str, project: Project, credential_vars: Optional[dict[str, str]] = None
) -> Target:
    """The target at ``url`` (no names: see ``open_target``)."""
    if url == "local":
        from envctl.targets.local import LocalTarget

        return LocalTarget(project.store_dir)
    parts = urlsplit(url)
    if parts.scheme in ("local", "file"):
        if parts.netloc:
            raise _bad(url, "a local target needs an absolute path (three slashes)")
        return _local(url, parts.path)
    if parts.scheme == "odps":
        return _odps(url, parts.netloc, parts.query, credential_vars)
    raise _bad(url, f"unknown scheme {parts.scheme!r}" if parts.scheme else "not a URL")
