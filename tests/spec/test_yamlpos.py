"""spec/yamlpos: YAML values plus the line/column of every node, and one-line faults."""

from __future__ import annotations

import pytest

from envctl.spec.yamlpos import MAX_NODES, YamlProblem, parse

DOC = """\
name: nlp
python: "3.11"
requirements:
  - jieba==0.40
  - numpy
labels:
  team: search
"""


def test_values_and_positions() -> None:
    doc = parse(DOC)
    assert doc.value == {
        "name": "nlp",
        "python": "3.11",
        "requirements": ["jieba==0.40", "numpy"],
        "labels": {"team": "search"},
    }
    assert doc.position(("name",)) == (1, 7)
    assert doc.position(("name",), of_key=True) == (1, 1)
    assert doc.position(("requirements", 1)) == (5, 5)
    assert doc.position(("labels", "team")) == (7, 9)
    assert doc.position(("labels", "team"), of_key=True) == (7, 3)


def test_a_missing_key_points_at_the_nearest_enclosing_node() -> None:
    doc = parse(DOC)
    assert doc.position(("labels", "owner")) == doc.position(("labels",))
    assert doc.position(("nope", "deeper")) == (1, 1)


def test_non_string_keys_become_strings() -> None:
    assert parse("1: a\ntrue: b\n").value == {"1": "a", "True": "b"}


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        ("name: a\nname: b\n", "duplicate key 'name'", 2, 1),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "merge keys", 3, 3),
        ("? [a, b]\n: c\n", "mapping keys must be plain strings", 1, 3),
        ("name: [unclosed\n", "invalid YAML", 2, 1),
        ("a: 1\n---\nb: 2\n", "one YAML document per file", 3, 1),
        ("", "file is empty", 1, 1),
        ("# only a comment\n", "file is empty", 1, 1),
        ("when: !!timestamp not-a-date\n", "invalid value", 1, 7),
        ("when: !!timestamp 2020-13-45\n", "invalid value: month must be in 1..12", 1, 7),
        ("n: 1\ncount: !!int abc\n", "invalid value", 2, 8),
        ("ratio: !!float x\n", "invalid value", 1, 8),
        ("flag: !!bool maybe\n", "invalid value", 1, 7),
        ("run: !!python/name:os.system x\n", "could not determine a constructor", 1, 6),
    ],
)
def test_faults_carry_a_one_line_message_and_a_position(
    text: str, message: str, line: int, col: int
) -> None:
    with pytest.raises(YamlProblem) as caught:
        parse(text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert (caught.value.line, caught.value.col) == (line, col)


def test_alias_bombs_fail_fast() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(YamlProblem, match=f"more than {MAX_NODES} values"):
        parse("\n".join(lines) + "\n")


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    with pytest.raises(YamlProblem, match=r"nesting is too deep|invalid YAML"):
        parse("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
