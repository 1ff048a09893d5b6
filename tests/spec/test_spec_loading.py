"""Loading specs: defaults, requirement splitting, and the documented `extends` merge rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.errors import EnvctlError
from envctl.spec.loader import DEFAULT_PLATFORM, load_environments, load_project_environments, merge


def _write(directory: Path, name: str, body: str) -> None:
    (directory / f"{name}.yaml").write_text(f"name: {name}\n{body}")


def test_defaults_fill_unset_fields(tmp_path: Path) -> None:
    _write(tmp_path, "plain", 'python: "3.11"\n')
    env = load_environments([tmp_path]).environments["plain"]
    assert env.platform == DEFAULT_PLATFORM
    assert (env.prefer_binary, env.pre_release, env.allow_sdist) == (False, False, True)
    assert env.requirements == () and env.exclude == () and env.index_url is None


def test_space_separated_requirements_are_split_like_the_seed_example(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "nlp",
        'python: "3.11"\nrequirements: ["jieba==0.40 cloudpickle pandas", "numpy >= 1.20"]\n',
    )
    env = load_environments([tmp_path]).environments["nlp"]
    assert env.requirements == ("jieba==0.40", "cloudpickle", "pandas", "numpy >= 1.20")


def test_exclude_names_are_canonicalized(tmp_path: Path) -> None:
    _write(tmp_path, "e", 'python: "3.7"\nexclude: [NumPy, Some_Pkg]\n')
    assert load_environments([tmp_path]).environments["e"].exclude == ("numpy", "some-pkg")


def test_child_inherits_and_overrides_parent(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "base",
        'python: "3.7"\nrequirements: ["requests==2.31.0 six"]\nexclude: [numpy]\n'
        "labels: {team: a, tier: gold}\nowners: [alice]\nextra_index_urls: ['https://a.example/simple']\n",
    )
    _write(
        tmp_path,
        "child",
        "extends: base\nrequirements: ['requests==2.32.0', pandas]\nexclude: [scipy]\n"
        "labels: {team: b}\nowners: [bob, alice]\nprefer_binary: true\n",
    )
    envs = load_environments([tmp_path]).environments
    child = envs["child"]
    assert child.python == "3.7"
    assert child.requirements == ("six", "requests==2.32.0", "pandas")
    assert child.exclude == ("numpy", "scipy")
    assert dict(child.labels) == {"team": "b", "tier": "gold"}
    assert child.owners == ("alice", "bob")
    assert child.extra_index_urls == ("https://a.example/simple",)
    assert child.prefer_binary is True and envs["base"].prefer_binary is False
    assert child.extends == ("base",)


def test_multi_level_chain_applies_nearest_value(tmp_path: Path) -> None:
    _write(tmp_path, "root", 'python: "3.7"\ndescription: root\n')
    _write(tmp_path, "mid", 'extends: root\npython: "3.11"\n')
    _write(tmp_path, "leaf", "extends: mid\n")
    leaf = load_environments([tmp_path]).environments["leaf"]
    assert (leaf.python, leaf.description, leaf.extends) == ("3.11", "root", ("mid", "root"))


def test_merge_never_inherits_name_or_extends() -> None:
    merged = merge({"name": "p", "extends": "q", "python": "3.7"}, {"description": "c"})
    assert merged == {"python": "3.7", "description": "c"}


def test_child_of_broken_parent_is_not_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "base", "python: 3.7\n")
    _write(tmp_path, "child", "extends: base\n")
    result = load_environments([tmp_path])
    assert result.environments == {}
    assert len(result.problems) == 1


def test_lock_inputs_change_with_requirements(tmp_path: Path) -> None:
    _write(tmp_path, "a", 'python: "3.11"\nrequirements: [six]\n')
    before = load_environments([tmp_path]).environments["a"].lock_inputs()
    _write(tmp_path, "a", 'python: "3.11"\nrequirements: [six, attrs]\n')
    after = load_environments([tmp_path]).environments["a"].lock_inputs()
    assert before != after


def test_project_loader_raises_one_line_error_on_problems(tmp_path: Path) -> None:
    _write(tmp_path, "a", "python: 3.7\n")
    with pytest.raises(EnvctlError) as info:
        load_project_environments(tmp_path)
    assert "a.yaml:2:9:" in str(info.value) and "\n" not in str(info.value)


def test_project_loader_suggests_close_names(tmp_path: Path) -> None:
    _write(tmp_path, "nlp", 'python: "3.11"\n')
    with pytest.raises(EnvctlError, match="did you mean 'nlp'"):
        load_project_environments(tmp_path, ["nlpp"])


@pytest.mark.parametrize(
    "url, literal",
    [
        ("https://alice:hunter2-never-echoed@pypi.example.com/simple", True),
        ("https://alice:pre${TOKEN}@pypi.example.com/simple", True),
        ("https://alice:${TOKEN}@pypi.example.com/simple", False),
        ("https://${USER}:${TOKEN}@pypi.example.com/simple", False),
        ("https://alice@pypi.example.com/simple", False),
        ("https://pypi.example.com/simple", False),
    ],
)
def test_only_a_written_out_index_password_is_a_problem_and_it_is_never_echoed(
    tmp_path: Path, url: str, literal: bool
) -> None:
    _write(tmp_path, "idx", f'python: "3.11"\nindex_url: "{url}"\nextra_index_urls: ["{url}"]\n')
    problems = load_environments([tmp_path]).problems
    assert [(p.line, p.message.split(";")[0]) for p in problems] == (
        [
            (3, "index_url embeds a literal password"),
            (4, "extra_index_urls entry embeds a literal password"),
        ]
        if literal
        else []
    )
    assert not any("hunter2" in p.message or "pre" in p.message for p in problems)
