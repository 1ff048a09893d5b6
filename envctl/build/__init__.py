"""A ``Lock`` turned into a reproducible ``.tar.gz`` archive (``packages/`` of installed wheels).

It fetches exactly the locked files with their hashes, builds allowed sdists, installs, packs,
caches by lock hash and verifies the result in a target interpreter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl import lazy_exports

if TYPE_CHECKING:
    from envctl.build.builder import (
        BuiltArchive as BuiltArchive,
    )
    from envctl.build.builder import (
        build as build,
    )
    from envctl.build.builder import (
        build_lock as build_lock,
    )
    from envctl.build.builder import (
        build_requirements as build_requirements,
    )
    from envctl.build.builder import (
        cached_archive as cached_archive,
    )
    from envctl.build.cache import Cache as Cache
    from envctl.build.size import SizeBudget as SizeBudget
    from envctl.build.size import check_size as check_size
    from envctl.build.size import human as human
    from envctl.build.verify import (
        VerifyResult as VerifyResult,
    )
    from envctl.build.verify import (
        find_interpreter as find_interpreter,
    )
    from envctl.build.verify import (
        verify_archive as verify_archive,
    )

__all__ = [
    "BuiltArchive",
    "Cache",
    "SizeBudget",
    "VerifyResult",
    "build",
    "build_lock",
    "build_requirements",
    "cached_archive",
    "check_size",
    "find_interpreter",
    "human",
    "verify_archive",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "BuiltArchive": "builder",
        "build": "builder",
        "build_lock": "builder",
        "build_requirements": "builder",
        "cached_archive": "builder",
        "Cache": "cache",
        "SizeBudget": "size",
        "check_size": "size",
        "human": "size",
        "VerifyResult": "verify",
        "verify_archive": "verify",
        "find_interpreter": "verify",
    },
)
