"""envctl: declarative, GitOps-managed Python environments for MaxCompute / MaxFrame UDFs.

The packages follow the pipeline: ``spec`` (YAML -> Environment) -> ``lock`` (-> PEP 751 lock)
-> ``build`` (-> reproducible archive) -> ``deploy`` (plan and apply against a ``targets``
store); ``udf`` and ``cli`` sit on top. See ``docs/design.md``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

__version__ = "0.1.0"


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each re-exported name on first use (PEP 562).

    Why: a package's public names stay importable from the package itself, while a command
    that needs one small module does not pay for importing the whole stage.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
