"""``envctl init NAME --from FILE``: specs from requirements files and pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envctl.cli import main
from envctl.lock.lockfile import read_lock
from envctl.spec.importer import read_source
from envctl.testing.index import LocalIndex


@pytest.fixture
def repo(tmp_path: Path, envctl_cache: object) -> Path:
    (tmp_path / "repo" / "environments").mkdir(parents=True)
    return tmp_path / "repo"


def _init(repo: Path, *args: str) -> int:
    return main(["--root", str(repo), "init", *args])


def test_requirements_with_includes_indexes_and_options(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text(
        "--extra-index-url https://mirror.example/simple\nsix==1.17.0\n"
    )
    (tmp_path / "req.txt").write_text(
        "# production pins\n"
        "-i https://${IDX_USER}:${IDX_TOKEN}@pkgs.example/simple\n"
        "-r base.txt\n"
        "--pre\n"
        "--only-binary :all:\n"
        "pandas>=2 ; python_version >= '3.9'  # comment\n"
        "jieba==0.40 \\\n"
        "    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
        "--trusted-host pkgs.example\n"
    )
    imported = read_source(tmp_path / "req.txt")
    assert imported.requirements == [
        "six==1.17.0",
        "pandas>=2 ; python_version >= '3.9'",
        "jieba==0.40",
    ]
    assert imported.index_url == "https://${IDX_USER}:${IDX_TOKEN}@pkgs.example/simple"
    assert imported.extra_index_urls == ["https://mirror.example/simple"]
    assert imported.pre_release and not imported.allow_sdist
    assert imported.warnings == [f"{tmp_path / 'req.txt'}:9: --trusted-host ignored"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-e ./src", "editable installs cannot be packed"),
        ("./dist/mine-1.0-py3-none-any.whl", "local paths cannot be packed"),
        ("-c constraints.txt", "constraints files are not supported"),
        ("-i https://alice:hunter2@pkgs.example/simple", "the index URL holds credentials"),
        ("pandas>=>2", "invalid requirement 'pandas>=>2'"),
    ],
)
def test_what_a_spec_cannot_express_is_an_error_at_file_and_line(
    repo: Path, tmp_path: Path, line: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "requirements.txt"
    source.write_text(f"six\n{line}\n")
    assert _init(repo, "demo", "--from", str(source)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"envctl: error: {source}:2: {message}") and err.count("\n") == 1
    assert "hunter2" not in err
    assert not (repo / "environments" / "demo.yaml").exists()


def test_init_from_requirements_writes_a_spec_that_locks(
    repo: Path, tmp_path: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "requirements.txt"
    source.write_text(f"--index-url {local_index.url}\ntinychain\n")
    assert _init(repo, "demo", "--from", str(source), "--python", "3.7") == 0
    assert "wrote" in capsys.readouterr().out
    spec = yaml.safe_load((repo / "environments" / "demo.yaml").read_text())
    assert spec == {
        "name": "demo",
        "python": "3.7",
        "index_url": local_index.url,
        "requirements": ["tinychain"],
    }
    assert main(["--root", str(repo), "lock", "demo"]) == 0
    assert read_lock(repo / "environments" / "pylock.demo.toml").package("tinychain") is not None
    assert _init(repo, "demo", "--from", str(source)) == 1
    assert "already exists; pass --force" in capsys.readouterr().err


def test_init_from_pyproject_with_platform(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "pyproject.toml"
    source.write_text('[project]\nname = "x"\ndependencies = ["requests>=2", "attrs"]\n')
    code = _init(
        repo,
        "web",
        "--from",
        str(source),
        "--python",
        "3.10",
        "--platform",
        "manylinux2014_aarch64",
    )
    assert code == 0
    spec = yaml.safe_load((repo / "environments" / "web.yaml").read_text())
    assert spec["platform"] == "manylinux2014_aarch64" and spec["requirements"] == [
        "requests>=2",
        "attrs",
    ]


def test_init_refuses_a_spec_that_would_not_validate(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "requirements.txt"
    source.write_text("six\n")
    assert _init(repo, "demo", "--from", str(source), "--python", "2.7") == 1
    err = capsys.readouterr().err
    assert err.startswith("envctl: error: ") and "python" in err and err.count("\n") == 1
    assert not (repo / "environments" / "demo.yaml").exists()
