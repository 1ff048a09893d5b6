"""``envctl exec``: the deployed (or locally built) archive on PYTHONPATH, the command's exit
code.
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

from envctl.cli import main
from envctl.targets import open_target
from envctl.udf.local import command_and_env


def archive_bytes(files: dict[str, str]) -> bytes:
    """A tar.gz laid out like envctl's archives: everything under ``packages/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"packages/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GREETER = archive_bytes({"greeter/__init__.py": "__version__ = '0.40'\n"})


def test_exec_puts_the_deployed_archive_on_pythonpath(project, deploy, capfd):
    deploy(open_target(None, project), "nlp", GREETER)
    code = main(
        [
            "exec",
            "nlp",
            "--python",
            sys.executable,
            "--",
            "python",
            "-c",
            "import greeter; print('row_' + greeter.__version__)",
        ]
    )
    out = capfd.readouterr()
    assert code == 0, out.err
    assert out.out.strip() == "row_0.40"


def test_exec_is_isolated_from_the_developer_site_packages(project, deploy, capfd):
    """requests is installed next to envctl but not in the archive: importing it must fail."""
    import requests  # noqa: F401  (present on the host, which is the point)

    deploy(open_target(None, project), "nlp", GREETER)
    code = main(
        [
            "exec",
            "nlp",
            "--python",
            sys.executable,
            "--",
            "python",
            "-c",
            "import greeter, requests",
        ]
    )
    err = capfd.readouterr().err
    assert code == 1
    assert "ModuleNotFoundError: No module named 'requests'" in err


def test_exec_hides_the_callers_pythonpath_and_processes_pth_files(
    project, deploy, tmp_path, capfd, monkeypatch
):
    leaked = tmp_path / "leaked"
    (leaked / "leakymod").mkdir(parents=True)
    (leaked / "leakymod" / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(leaked))
    payload = archive_bytes({"extra.pth": "extra_dir\n", "extra_dir/pthmod.py": "X = 1\n"})
    deploy(open_target(None, project), "nlp", payload)
    script = (
        "import sys, importlib.util as u; import pthmod; "
        "print(u.find_spec('leakymod') is None, sys.prefix != sys.base_prefix)"
    )
    assert main(["exec", "nlp", "--python", sys.executable, "--", "python", "-c", script]) == 0
    assert capfd.readouterr().out.split() == ["True", "True"]


def test_discovery_prefers_the_base_interpreter_over_a_venv(monkeypatch):
    from envctl.build.verify import find_interpreter

    minor = "{}.{}".format(*sys.version_info[:2])
    monkeypatch.setenv(f"ENVCTL_PYTHON_{minor.replace('.', '_')}", sys.executable)  # the dev venv's
    found = find_interpreter(minor)
    assert found is not None
    assert found.resolve() == Path(sys.base_prefix, "bin", f"python{minor}").resolve()


def test_exec_returns_the_command_exit_code(project, deploy):
    deploy(open_target(None, project), "nlp", GREETER)
    assert main(["exec", "nlp", "--", sys.executable, "-c", "raise SystemExit(7)"]) == 7


def test_exec_downloads_and_unpacks_once_from_maxcompute(
    project, deploy, odps_target_url, odps_emulator, monkeypatch, tmp_path
):
    monkeypatch.setenv("ENVCTL_TARGET", odps_target_url)
    info = deploy(open_target(None, project), "nlp", GREETER)
    odps_emulator.stats.reset()
    assert main(["exec", "nlp", "--", "python", "-c", "import greeter"]) == 0
    first_reads = odps_emulator.stats.count("read")
    unpacked = Path(tmp_path / "cache" / "exec" / info.sha256)
    assert (unpacked / "packages" / "greeter" / "__init__.py").is_file()
    odps_emulator.stats.reset()
    assert main(["exec", "nlp", "--", "python", "-c", "import greeter"]) == 0
    assert odps_emulator.stats.count("read") == first_reads - 1  # the state again, not the archive


def test_exec_of_an_environment_with_nothing_to_run_is_a_clear_error(project, capfd):
    assert main(["exec", "nlp", "--", "python", "-V"]) == 1
    err = capfd.readouterr().err
    assert "envctl: error: environment 'nlp' has no deployed version and no local build" in err
    assert "Traceback" not in err


def test_exec_of_a_missing_command_exits_127(project, deploy, capfd):
    deploy(open_target(None, project), "nlp", GREETER)
    assert main(["exec", "nlp", "--", "no-such-command-envctl"]) == 127
    assert "command not found: no-such-command-envctl" in capfd.readouterr().err


def test_exec_refuses_archives_escaping_the_unpack_dir(project, deploy, capfd):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../evil.py")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
    deploy(open_target(None, project), "nlp", buffer.getvalue())
    assert main(["exec", "nlp", "--", sys.executable, "-V"]) == 1
    assert "cannot unpack" in capfd.readouterr().err


def test_python_command_becomes_the_sandbox_interpreter(tmp_path, monkeypatch):
    monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "packages").mkdir()
    argv, env = command_and_env(
        ["python", "x.py"], tmp_path, Path(sys.executable), {"PATH": "/usr/bin", "PYTHONPATH": "/a"}
    )
    assert Path(argv[0]).parent.parent.parent.name == "venvs" and argv[1:] == ["x.py"]
    assert env["PATH"].split(":") == [str(Path(argv[0]).parent), "/usr/bin"]
    assert "PYTHONPATH" not in env


def test_other_commands_are_left_alone_without_an_interpreter(tmp_path):
    argv, env = command_and_env(["pytest", "-q"], tmp_path, None, {"PATH": "/usr/bin"})
    assert argv == ["pytest", "-q"]
    assert env["PATH"] == "/usr/bin"
    assert env["PYTHONPATH"] == str(tmp_path)


def test_exec_uses_the_local_build_when_nothing_is_deployed(project, adhoc_index, capfd):
    (project.environments_dir / "nlp.yaml").write_text(
        f'name: nlp\npython: "3.11"\nindex_url: {adhoc_index.url}\nrequirements: [tinytext]\n'
    )
    assert main(["lock", "nlp"]) == 0
    assert main(["build", "nlp"]) == 0
    capfd.readouterr()
    assert (
        main(
            [
                "exec",
                "nlp",
                "--source",
                "local",
                "--python",
                sys.executable,
                "--",
                "python",
                "-c",
                "import tinyseg; print('row_' + tinyseg.__version__)",
            ]
        )
        == 0
    )
    assert capfd.readouterr().out.strip() == "row_0.40"
