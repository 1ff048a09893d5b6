"""MaxFrame's seed example with envctl: a text UDF that needs ``jieba`` on the cluster.

Importing this module builds nothing. What each decorator hands MaxFrame:

* ``process`` names the environment ``nlp`` (``environments/nlp.yaml``): its deployed archive
  (``envctl apply``) in the MaxCompute project of ``ENVCTL_TARGET``; until it is deployed,
  the exact pins of ``pylock.nlp.toml``, packed by MaxFrame on the server. ``nlp`` must be
  built for the session's Python (``options.python_tag``), and its lock must satisfy the
  requirements written here.
* ``process_adhoc`` names only requirements: MaxFrame packs them server-side at submission,
  exactly as ``maxframe.udf.with_python_requirements`` does. With ``ENVCTL_ADHOC=client``
  envctl builds them on this machine instead, in the background; submission waits.

On a cluster, with a MaxFrame session::

    df["text"].map(process)

Locally, isolated with exactly the packages the cluster gets::

    envctl exec nlp -- python examples/seed_udf.py
    # hello_0.40
    # world_0.40

Under ``envctl exec`` the packages are already on ``sys.path``, so the decorators pass the
functions through unchanged (and the interpreter, a bare target CPython, has no envctl).
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
