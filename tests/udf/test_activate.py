"""``envctl.udf.activate``: a SQL UDF's archive on sys.path, .pth files processed, stdlib only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import envctl.udf.sql_udf as activate_module


def unpacked(work: Path, name: str) -> None:
    """``work/<name>/packages`` as MaxCompute leaves an archive resource."""
    packages = work / name / "packages"
    (packages / "extra").mkdir(parents=True)
    (packages / "greeter.py").write_text("VERSION = 'archive'\n")
    (packages / "extra" / "pthmod.py").write_text("X = 1\n")
    (packages / "extras.pth").write_text("extra\n")


@pytest.mark.parametrize("minor", [None, "3.7"], ids=["this-python", "cpython-3.7"])
def test_activate_runs_standalone_on_a_bare_interpreter(tmp_path, minor):
    """The file alone, in an interpreter without envctl or site-packages (as on the cluster),
    including CPython 3.7, MaxCompute's cp37 runtime (the README promises 3.7+)."""
    python = sys.executable
    if minor is not None:
        from envctl.build.verify import find_interpreter

        found = find_interpreter(minor)
        if found is None:
            pytest.skip(f"no CPython {minor} interpreter")
        python = str(found)
    unpacked(tmp_path / "work", "envctl-nlp-abc.tar.gz")
    shadow = tmp_path / "image"
    shadow.mkdir()
    (shadow / "greeter.py").write_text("VERSION = 'image'\n")  # an older copy in the image
    here, image = str(Path(activate_module.__file__).parent), str(shadow)
    code = (
        f"import sys; sys.path.insert(0, {here!r}); sys.path.append({image!r})\n"
        "from sql_udf import activate\n"
        "path = activate('proj/resources/envctl-nlp-abc.tar.gz')\n"
        "assert activate('envctl-nlp-abc.tar.gz') == path\n"
        "import greeter, pthmod\n"
        "print(greeter.VERSION, pthmod.X, 'envctl' in sys.modules)\n"
    )
    out = subprocess.run(
        [python, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["archive", "1", "False"]


def test_activate_of_a_resource_that_is_not_unpacked_is_an_import_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ImportError,
        match=r"envctl-nlp-abc\.tar\.gz is not unpacked at work/envctl-nlp-abc\.tar\.gz",
    ):
        activate_module.activate("envctl-nlp-abc.tar.gz")


def test_activate_environment_finds_the_one_archive_whatever_its_name(tmp_path, monkeypatch):
    """Functions registered from ``functions:`` name the environment, not the archive."""
    work = tmp_path / "work"
    unpacked(work, "envctl-nlp-0123456789ab.tar.gz")
    unpacked(work, "envctl-nlp2-0123456789ab.tar.gz")  # another environment's archive
    monkeypatch.setattr(sys, "path", list(sys.path))
    path = activate_module.activate_environment("nlp", str(work))
    assert path == str((work / "envctl-nlp-0123456789ab.tar.gz" / "packages").resolve())
    unpacked(work, "envctl-nlp-ba9876543210.tar.gz")
    try:
        activate_module.activate_environment("nlp", str(work))
    except ImportError as exc:
        assert "expected one archive of environment 'nlp'" in str(exc)
    else:
        raise AssertionError("two archives of one environment must not be guessed between")
