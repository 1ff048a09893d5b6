"""End-to-end against the real registry (``-m network``): the seed environments on 3.11 and 3.7."""

from __future__ import annotations

import subprocess
import tarfile

import pytest
import yaml

from envctl.build.verify import find_interpreter
from envctl.lock.isolation import find_uv
from envctl.lock.lockfile import read_lock

pytestmark = pytest.mark.network


def _spec(project, name, python, requirements, **fields):
    path = project.root / "environments" / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"name": name, "python": python, "requirements": requirements, **fields})
    )


def _interpreter(minor):
    found = find_interpreter(minor)
    if found is None:
        pytest.skip(f"no CPython {minor} interpreter")
    return found


def test_seed_nlp_environment_imports_jieba_040_on_311(project, tmp_path):
    python = _interpreter("3.11")
    _spec(project, "nlp", "3.11", ["jieba==0.40 cloudpickle pandas"])
    assert project.run("lock", "nlp") == 0
    lock = read_lock(project.lock_path("nlp"))
    assert lock.package("jieba").kind == "sdist" and lock.package("numpy").is_wheel
    archive = tmp_path / "nlp.tar.gz"
    assert project.run("build", "nlp", "-o", str(archive)) == 0
    assert project.run("verify", "nlp") == 0
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import jieba, pandas; "
        "assert jieba.__version__ == '0.40', jieba.__version__"
    )
    subprocess.run([str(python), "-c", code, str(tmp_path / "unpacked" / "packages")], check=True)


def test_py37_pandas_requests_environment_builds_and_imports(project):
    _interpreter("3.7")
    _spec(project, "etl", "3.7", ["pandas requests"])
    assert project.run("lock", "etl") == 0
    lock = read_lock(project.lock_path("etl"))
    assert "cp37-cp37m-manylinux" in lock.package("pandas").filename
    assert project.run("verify", "etl") == 0


@pytest.mark.parametrize(
    "resolver",
    ["pip", pytest.param("uv", marks=pytest.mark.skipif(find_uv() is None, reason="no uv"))],
)
def test_click_on_37_pulls_importlib_metadata(project, resolver):
    _spec(
        project, "cli", "3.7", ["click==8.1.7"], prefer_binary=True
    )  # so uv, not pip, resolves it
    assert project.run("lock", "cli", "--resolver", resolver) == 0
    lock = read_lock(project.lock_path("cli"))
    assert lock.package("importlib-metadata") is not None and lock.resolver == resolver
    _spec(project, "cli", "3.11", ["click==8.1.7"], prefer_binary=True)
    assert project.run("lock", "cli", "--resolver", resolver) == 0
    assert read_lock(project.lock_path("cli")).package("importlib-metadata") is None
