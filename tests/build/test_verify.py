"""``envctl verify``: imports in a target-version interpreter, never a silent pass."""

from __future__ import annotations

import json


def test_verify_imports_every_module_in_the_target_interpreter(project, python311, capsys):
    project.spec("demo", "3.11", ["tinychain tinynative tinysdist"])
    assert project.run("lock", "demo") == 0
    capsys.readouterr()
    assert project.run("verify", "demo", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is True
    assert {m["module"] for m in report["modules"]} == {
        "tinychain",
        "tinynative",
        "tinypure",
        "tinysdist",
    }


def test_verify_reports_a_broken_module_and_fails(project, python311, capsys):
    project.spec("demo", "3.11", ["tinybroken tinypure"])
    assert project.run("lock", "demo") == 0
    assert project.run("verify", "demo") == 1
    out = capsys.readouterr().out
    assert "FAIL tinybroken (tinybroken): ImportError: tinybroken is broken on purpose" in out
    assert "ok   tinypure" in out


def test_verify_skips_modules_that_need_only_excluded_packages(project, python311, capsys):
    project.spec("demo", "3.11", ["tinychain"], exclude=["tinypure"])
    assert project.run("lock", "demo") == 0
    assert project.run("verify", "demo") == 0
    out, err = capsys.readouterr()
    assert "skip tinychain" in out
    assert "0 modules import, 1 skipped (excluded) in " in err  # a skip is not counted as an import


def test_verify_without_a_target_interpreter_exits_3(project, tmp_path, monkeypatch, capsys):
    project.spec("demo", "3.11", ["tinypure"])
    assert project.run("lock", "demo") == 0
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.delenv("ENVCTL_PYTHON_3_11", raising=False)
    assert project.run("verify", "demo") == 3
    assert "no CPython 3.11 interpreter found" in capsys.readouterr().err


def test_verify_is_isolated_from_the_interpreters_site_packages(tmp_path, monkeypatch):
    """A module needing ``requests`` (installed next to envctl, absent from the archive) fails."""
    import io
    import sys
    import tarfile

    import requests  # noqa: F401  (present on the host, which is the point)

    from envctl.build.verify import verify_archive

    files = {
        "packages/leaky/__init__.py": "import requests\n",
        "packages/leaky-1.0.dist-info/top_level.txt": "leaky\n",
    }
    archive = tmp_path / "leaky.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    minor = "{}.{}".format(*sys.version_info[:2])
    monkeypatch.setenv(
        f"ENVCTL_PYTHON_{minor.replace('.', '_')}", sys.executable
    )  # the dev venv's python
    result = verify_archive(archive, minor)
    assert [(r.module, r.ok) for r in result.results] == [("leaky", False)]
    assert "No module named 'requests'" in result.results[0].error
