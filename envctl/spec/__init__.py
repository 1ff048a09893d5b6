"""YAML specs under ``environments/`` turned into validated ``Environment`` values.

It knows the file format, the JSON Schema, requirement strings and index URLs, and nothing of
locking, building or targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl import lazy_exports

if TYPE_CHECKING:
    from envctl.spec.indexes import expand as expand
    from envctl.spec.indexes import strip_auth as strip_auth
    from envctl.spec.loader import (
        Environment as Environment,
    )
    from envctl.spec.loader import (
        LoadResult as LoadResult,
    )
    from envctl.spec.loader import (
        Problem as Problem,
    )
    from envctl.spec.loader import (
        load_environments as load_environments,
    )
    from envctl.spec.loader import (
        load_project_environments as load_project_environments,
    )
    from envctl.spec.project import Project as Project
    from envctl.spec.project import find_project as find_project
    from envctl.spec.requirements import (
        RequirementError as RequirementError,
    )
    from envctl.spec.requirements import (
        normalize_requirements as normalize_requirements,
    )
    from envctl.spec.requirements import (
        requirement_name as requirement_name,
    )
    from envctl.spec.requirements import (
        split_requirements as split_requirements,
    )

__all__ = [
    "Environment",
    "LoadResult",
    "Problem",
    "Project",
    "RequirementError",
    "expand",
    "find_project",
    "load_environments",
    "load_project_environments",
    "normalize_requirements",
    "requirement_name",
    "split_requirements",
    "strip_auth",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "Environment": "loader",
        "LoadResult": "loader",
        "Problem": "loader",
        "load_environments": "loader",
        "load_project_environments": "loader",
        "Project": "project",
        "find_project": "project",
        "RequirementError": "requirements",
        "split_requirements": "requirements",
        "normalize_requirements": "requirements",
        "requirement_name": "requirements",
        "expand": "indexes",
        "strip_auth": "indexes",
    },
)
