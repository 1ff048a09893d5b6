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


def current_session() -> Session:
    """Read the session (cheap: attribute reads once ``maxframe`` is imported)."""
    under_exec = settings.EXEC.raw() is not None
    if under_exec:
        return Session(maxframe=False, under_exec=True)
    from envctl.udf.marking import maxframe_udf

    if maxframe_udf() is None:
        return Session(maxframe=False)
    options = sys.modules["maxframe.config"].options
    image = options.session.image_name
    return Session(True, str(options.python_tag), str(image) if image else None)
