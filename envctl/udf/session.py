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


def current_session() -> Session:
    """Read the session: a few dict lookups once ``maxframe`` is imported.

    Every warm decoration of a named environment pays this, so MaxFrame's option store is read
    directly (its public attribute access costs several microseconds a value), falling back to
    the public ``options.python_tag`` / ``options.session.image_name`` if its layout changes.
    """
    if settings.EXEC.raw() is not None:
        return _UNDER_EXEC
    from envctl.udf.marking import maxframe_udf

    if maxframe_udf() is None:
        return _NO_MAXFRAME
    config = sys.modules["maxframe.config.config"]
    try:
        store = config.get_global_options()._config
        key = (store["python_tag"][0], store["session"]["image_name"][0])
        if not isinstance(key[0], str) or not isinstance(key[1], (str, type(None))):
            raise TypeError("an option is redirected")
    except (AttributeError, KeyError, IndexError, TypeError):
        options = config.get_global_options()
        key = (options.python_tag, options.session.image_name)
    session = _sessions.get(key)
    if session is None:
        tag, image = key
        session = _sessions[key] = Session(True, str(tag), str(image) if image else None)
    return session
