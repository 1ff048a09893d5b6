"""Named environments: the decorator ships the controller's current archive from the target."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap

import pytest

from envctl.errors import EnvctlError
from envctl.targets import open_target
from envctl.udf import resources_of, with_environment, with_python_requirements


def make_process():
    """A fresh function: without MaxFrame, marking sets an attribute on the function itself."""

    def process(row: str) -> str:
        return row + "_ok"

    return process


process = make_process()


def test_named_environment_resolves_from_the_local_store(project, deploy, no_maxframe):
    info = deploy(open_target(None, project), "nlp", b"archive-1")
    marked = with_environment("nlp")(make_process())
    assert resources_of(marked) == [info.resource]
    assert marked("r") == "r_ok"


def test_named_environment_resolves_from_maxcompute(project, deploy, odps_target_url, monkeypatch):
    monkeypatch.setenv("ENVCTL_TARGET", odps_target_url)
    info = deploy(open_target(None, project), "nlp", b"archive-odps")
    marked = with_python_requirements("jieba==0.40", env="nlp")(process)
    assert resources_of(marked) == [f"envctl_test/resources/{info.resource}"]


def test_new_deployment_is_seen_after_the_resolve_ttl(project, deploy, monkeypatch, no_maxframe):
    monkeypatch.setenv("ENVCTL_RESOLVE_TTL", "0")
    target = open_target(None, project)
    deploy(target, "nlp", b"v1")
    v2 = deploy(target, "nlp", b"v2")
    assert resources_of(with_environment("nlp")(make_process())) == [v2.resource]


def test_thousands_of_decorations_read_the_target_once(
    project, deploy, odps_target_url, odps_emulator, monkeypatch
):
    monkeypatch.setenv("ENVCTL_TARGET", odps_target_url)
    deploy(open_target(None, project), "nlp", b"archive")
    odps_emulator.stats.reset()
    decorate = with_environment("nlp")
    names = {resources_of(decorate(lambda row, i=i: row))[0] for i in range(2000)}
    assert len(names) == 1
    reads = odps_emulator.stats.count(method="GET")
    assert 1 <= reads <= 3  # one state read (pyodps may add a meta call), not 2000


def test_unknown_environment_names_environment_and_target(project, no_maxframe):
    with pytest.raises(
        EnvctlError,
        match=r"environment 'nope' is not defined in this project and is not "
        r"deployed to local://.*envctl apply --only nope",
    ):
        with_environment("nope")(process)


def test_defined_but_undeployed_environment_without_a_lock_is_an_error(project, no_maxframe):
    with pytest.raises(
        EnvctlError,
        match=r"environment 'nlp' is not deployed to local://.* and has no "
        r"committed lock; run 'envctl lock nlp'",
    ):
        with_python_requirements(env="nlp")(process)


def test_unreachable_target_is_a_clear_error(project, monkeypatch):
    from envctl.targets import retry

    # keep the retries, only shorten their waits
    monkeypatch.setattr(
        "envctl.targets.odps.call_with_retries",
        functools.partial(retry.call_with_retries, max_wait=0.01),
    )
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    monkeypatch.setenv("ENVCTL_TARGET", "odps://proj?endpoint=http://127.0.0.1:9/api")
    from odps import options

    saved, options.retry_times = options.retry_times, 0  # pyodps's own inner retries
    try:
        with pytest.raises(EnvctlError, match=r"127\.0\.0\.1:9"):
            with_environment("nlp")(process)
    finally:
        options.retry_times = saved


def test_missing_credentials_are_a_clear_error(project, monkeypatch):
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("ENVCTL_TARGET", "odps://proj?endpoint=http://127.0.0.1:9/api")
    with pytest.raises(EnvctlError, match="ALIBABA_CLOUD_ACCESS_KEY_ID"):
        with_environment("nlp")(process)


def test_nothing_requested_is_an_error(project):
    with pytest.raises(EnvctlError, match="needs requirements or env="):
        with_python_requirements()(process)


def test_without_maxframe_the_decorated_function_runs_and_carries_the_resource(project, deploy):
    info = deploy(open_target(None, project), "nlp", b"archive")
    code = textwrap.dedent(
        """
        import sys
        sys.modules["maxframe"] = None  # the optional extra is not installed
        from envctl.udf import with_environment, with_python_requirements

        @with_python_requirements("jieba==0.40", env="nlp")
        def process(row):
            return row + "_ok"

        print(type(process).__name__, process.__envctl_resources__[0], process("r"))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["function", info.resource, "r_ok"]
