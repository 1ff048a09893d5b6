"""Property: no YAML document, however odd, makes the loader crash — it loads or reports
problems.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from envctl.spec.loader import load_environments

KEYS = [
    "name",
    "python",
    "platform",
    "requirements",
    "exclude",
    "extends",
    "labels",
    "owners",
    "prefer_binary",
    "pre_release",
    "index_url",
    "extra_index_urls",
    "description",
    "other",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["3.7", "3.11", "prop", "six==1.16.0", "../x", "manylinux2014_x86_64"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
documents = st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=8))


def _check(tmp_path: Path, text: str) -> None:
    (tmp_path / "prop.yaml").write_text(text, encoding="utf-8")
    result = load_environments([tmp_path])
    assert bool(result.environments) != bool(result.problems) or not result.environments
    for problem in result.problems:
        assert problem.line >= 1 and problem.col >= 1 and "\n" not in problem.message


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(documents)
@example(doc={"labels": {"\n": None}})  # a key that would break the one-line message
def test_arbitrary_structured_documents_load_or_report(tmp_path: Path, doc: object) -> None:
    _check(tmp_path, yaml.safe_dump(doc, allow_unicode=True))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_arbitrary_text_loads_or_reports(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)
