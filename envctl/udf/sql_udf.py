"""Make an archive resource importable in a plain MaxCompute SQL / PyODPS UDF.

MaxCompute unpacks an archive resource listed in ``CREATE FUNCTION ... USING`` into
``work/<resource name>/`` of the UDF's working directory, but only MaxFrame puts its
``packages/`` on ``sys.path``; a SQL UDF must do it itself. This module is standard library
only and runs on CPython 3.7: ship this file as a Python resource next to the UDF, or paste
:func:`activate` into it (envctl is not needed on the cluster)::

    from envctl_sql_udf import activate   # this file, uploaded as envctl_sql_udf.py
    activate("envctl-nlp-1a2b3c4d5e6f.tar.gz")

    from odps.udf import annotate

    @annotate("string->string")
    class Segment(object):
        def evaluate(self, text):
            import jieba
            return " ".join(jieba.cut(text))

Packages with compiled extensions need ``set odps.isolation.session.enable=true;``.
"""

from __future__ import annotations

import os
import site
import sys


def activate(resource: str, work_dir: str = "work") -> str:
    """Put ``work/<resource>/packages`` first on ``sys.path``, processing its ``.pth`` files.

    ``resource`` may be a bare name or ``<project>/resources/<name>``. Returns the directory
    added; idempotent. Raises ImportError when the archive is not unpacked there (the
    resource is missing from the function's ``USING`` list).
    """
    name = resource.rsplit("/", 1)[-1]
    root = os.path.join(work_dir, name)
    packages = os.path.join(root, "packages")
    path = os.path.abspath(packages if os.path.isdir(packages) else root)
    if not os.path.isdir(path):
        raise ImportError(
            f"archive resource {name} is not unpacked at {root}; add it to the function's resources"
        )
    if path in sys.path:
        return path
    before = list(sys.path)
    site.addsitedir(path)  # appends the dir and whatever its .pth files add
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + before  # the archive's versions win over the image's
    return path


def activate_environment(environment: str, work_dir: str = "work") -> str:
    """:func:`activate` the archive of ``environment``, whatever its current name.

    For functions that ``envctl apply`` registers from a spec's ``functions:``: their
    resources hold exactly one ``envctl-<environment>-<sha12>.tar.gz``, whose name changes on
    every apply, so the UDF names the environment instead. Raises ImportError unless exactly
    one such archive is unpacked.
    """
    prefix = "envctl-" + environment + "-"
    names = sorted(
        n
        for n in (os.listdir(work_dir) if os.path.isdir(work_dir) else [])
        if n.startswith(prefix) and n.endswith(".tar.gz") and len(n) == len(prefix) + 12 + 7
    )
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise ImportError(
            f"expected one archive of environment {environment!r} in {work_dir}, found {found}"
        )
    return activate(names[0], work_dir)
