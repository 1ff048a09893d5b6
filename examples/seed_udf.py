"""MaxFrame's seed example with envctl: a text UDF that needs ``jieba`` on the cluster.

Two ways to get the packages there:

* ``process`` references the named environment ``nlp`` (``environments/nlp.yaml``), deployed
  by ``envctl apply``; the decorator ships that immutable archive.  Until it is deployed,
  the requirements given here are built ad hoc (temporary archive, reused for a day).
* ``process_adhoc`` names only requirements: an ad-hoc build for ``ENVCTL_PYTHON`` (3.11).

On a cluster, with a MaxFrame session::

    df["text"].mf.apply_chunk(...)  # or simply
    df["text"].map(process)

Locally, against exactly the packages the cluster gets::

    envctl exec nlp -- python examples/seed_udf.py
    # hello_0.40
    # world_0.40

Under ``envctl exec`` the packages are already on ``sys.path``, so the decorators pass the
functions through unchanged (and the interpreter, a bare target CPython, may not have envctl).
"""

from __future__ import annotations

try:
    from envctl.udf import with_python_requirements
except ImportError:  # a bare target interpreter under `envctl exec`: nothing to resolve

    def with_python_requirements(*requirements, **options):  # type: ignore[no-redef]
        return lambda func: func


@with_python_requirements("jieba==0.40 cloudpickle pandas", env="nlp")
def process(row: str) -> str:
    import jieba

    return row + "_" + jieba.__version__


@with_python_requirements("jieba==0.40 cloudpickle pandas")
def process_adhoc(row: str) -> str:
    import jieba

    return row + "_" + jieba.__version__


if __name__ == "__main__":
    for text in ("hello", "world"):
        print(process(text))
