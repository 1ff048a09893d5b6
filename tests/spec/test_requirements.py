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
        (
            'importlib-metadata; python_version < "3.8"',
            ['importlib-metadata; python_version < "3.8"'],
        ),
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


@pytest.mark.parametrize(
    "text, caret",
    [
        ("numpy; python_version >", "                       ^"),
        ("jieba==0.40 pandas>=", "                  ^"),
    ],
)
def test_a_bad_requirement_is_quoted_whole_with_a_caret_at_the_error(text: str, caret: str) -> None:
    with pytest.raises(RequirementError) as info:
        split_requirements(text)
    assert str(info.value).startswith(f"invalid PEP 508 requirement {text!r}: expected ")
    assert str(info.value).endswith(f"(column {len(caret)})") and "\n" not in str(info.value)
    assert info.value.pointer == (f"    {text}", f"    {caret}")


def test_validate_shows_the_caret_under_the_problem_line(tmp_path, capsys) -> None:
    from envctl.cli import main

    (tmp_path / "a.yaml").write_text(
        'name: a\npython: "3.11"\nrequirements: ["numpy; python_version >"]\n'
    )
    assert main(["validate", str(tmp_path / "a.yaml")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(
        "invalid PEP 508 requirement 'numpy; python_version >': "
        "expected a marker variable or quoted string (column 24)"
    )
    assert lines[1:] == ["    numpy; python_version >", "                           ^"]
