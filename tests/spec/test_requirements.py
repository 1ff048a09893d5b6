"""Splitting and normalizing requirement strings."""

from __future__ import annotations

import pytest

from envctl.spec.requirements import RequirementError, normalize_requirements, split_requirements


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jieba==0.40 cloudpickle pandas", ["jieba==0.40", "cloudpickle", "pandas"]),
        ("pandas >= 1.0, < 3", ["pandas >= 1.0, < 3"]),
        ("pandas >= 1.0 numpy", ["pandas >= 1.0", "numpy"]),
        ('importlib-metadata; python_version < "3.8"', ['importlib-metadata; python_version < "3.8"']),
        ("requests[security]>=2 six", ["requests[security]>=2", "six"]),
    ],
)
def test_split_takes_longest_valid_requirement(text: str, expected: list[str]) -> None:
    assert split_requirements(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "six=>1", "pandas>=", "jieba===", "-e .", "a ~b", "a b["]
)
def test_split_rejects_invalid_pep508(text: str) -> None:
    with pytest.raises(RequirementError):
        split_requirements(text)


def test_normalization_is_order_and_spelling_insensitive() -> None:
    assert normalize_requirements(["Pandas>=1,<3 jieba==0.40"]) == normalize_requirements(
        ["jieba==0.40", "pandas<3,>=1"]
    )
    assert normalize_requirements(["six"]) != normalize_requirements(["six==1.16.0"])
