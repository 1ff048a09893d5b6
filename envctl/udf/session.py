"""What the decorator knows about where the UDF will run: the MaxFrame session's runtime.

MaxFrame sends ``options.python_tag`` (default: the client's own ``cpXY``) with each job and
packs server-side for it; ``options.session.image_name`` names a custom image. envctl reads
both so an archive for another Python is refused on the client instead of failing at import
on the cluster. Without MaxFrame there is no session: nothing to check, nothing to submit.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from envctl import settings
from envctl.udf import marking

EXEC_ENV_VAR = settings.EXEC.name
"""Set by ``envctl exec`` to the environment whose packages are already importable."""


@dataclass(frozen=True)
class Session:
    """The runtime a decorated UDF is headed for."""

    maxframe: bool
    python_tag: str | None = None  # cpXY, None without MaxFrame
    image_name: str | None = None
    under_exec: bool = False


_sessions: dict[tuple[object, object], Session] = {}
_NO_MAXFRAME = Session(maxframe=False)
_UNDER_EXEC = Session(maxframe=False, under_exec=True)
_last_read: tuple[object, object, Session] | None = None
"""MaxFrame's last-read option entries (by identity) and the session they gave."""


def current_session() -> Session:
    """The session: ``envctl exec``'s pass-through, else :func:`maxframe_session`."""
    if settings.EXEC.raw() is not None:
        return _UNDER_EXEC
    return maxframe_session()


def maxframe_session() -> Session:
    """The MaxFrame session, ignoring ``envctl exec``: an identity check once it was read.

    Every warm decoration of a named environment pays this, so MaxFrame's option store is read
    directly (its public attribute access costs several microseconds a value), falling back to
    the public ``options.python_tag`` / ``options.session.image_name`` if its layout changes.
    The store keeps each option as an immutable ``(value, validator)`` tuple and assigning an
    option stores a new tuple (so does ``option_context``'s copy of the store): the same two
    tuple objects as last time mean the same values, without reading or hashing them again.
    """
    global _last_read
    if marking.maxframe_udf() is None:
        return _NO_MAXFRAME
    config = sys.modules["maxframe.config.config"]
    try:
        store = config.get_global_options()._config
        tag_entry, image_entry = store["python_tag"], store["session"]["image_name"]
        last = _last_read
        if last is not None and tag_entry is last[0] and image_entry is last[1]:
            return last[2]
        key = (tag_entry[0], image_entry[0])
        if not isinstance(key[0], str) or not isinstance(key[1], (str, type(None))):
            raise TypeError("an option is redirected")  # its tuple stays as its value changes
    except (AttributeError, KeyError, IndexError, TypeError):
        options = config.get_global_options()
        return _session_of((options.python_tag, options.session.image_name))
    session = _session_of(key)
    _last_read = (tag_entry, image_entry, session)  # holding the tuples keeps their ids unique
    return session


def _session_of(key: tuple[object, object]) -> Session:
    session = _sessions.get(key)
    if session is None:
        tag, image = key
        session = _sessions[key] = Session(True, str(tag), str(image) if image else None)
    return session
