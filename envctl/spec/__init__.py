"""YAML specs under ``environments/`` turned into validated ``Environment`` values.

It knows the file format, the JSON Schema, requirement strings and index URLs, and nothing of
locking, building or targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl import lazy_exports

if TYPE_CHECKING:
    from envctl.spec.loader import Environment as Environment, LoadResult as LoadResult, Problem as Problem, load_environments as load_environments, load_project_environments as load_project_environments
    from envctl.spec.project import Project as Project, find_project as find_project
    from envctl.spec.requirements import RequirementError as RequirementError, split_requirements as split_requirements, normalize_requirements as normalize_requirements, requirement_name as requirement_name
    from envctl.spec.indexes import expand as expand, strip_auth as strip_auth

__all__ = ['Environment', 'LoadResult', 'Problem', 'Project', 'RequirementError', 'expand', 'find_project', 'load_environments', 'load_project_environments', 'normalize_requirements', 'requirement_name', 'split_requirements', 'strip_auth']

__getattr__ = lazy_exports(__name__, {
    'Environment': 'loader',
    'LoadResult': 'loader',
    'Problem': 'loader',
    'load_environments': 'loader',
    'load_project_environments': 'loader',
    'Project': 'project',
    'find_project': 'project',
    'RequirementError': 'requirements',
    'split_requirements': 'requirements',
    'normalize_requirements': 'requirements',
    'requirement_name': 'requirements',
    'expand': 'indexes',
    'strip_auth': 'indexes',
})
