"""The decorators as a MaxFrame user meets them: session checks, service packs, deferred builds."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from envctl.cli import main
from envctl.deploy.state import archive_name
from envctl.errors import EnvctlError
from envctl.targets import open_target
from envctl.udf import (
    StackedDecoratorWarning,
    adhoc,
    pending,
    ready,
    resources_of,
    with_environment,
    with_python_requirements,
)

maxframe_udf = pytest.importorskip("maxframe.udf")
options = pytest.importorskip("maxframe.config").options


def process(row: str) -> str:
    return row + "_ok"


@pytest.fixture
def python_tag():
    """Set the MaxFrame session's python tag for one test."""
    saved = options.python_tag

    def set_tag(tag: str) -> None:
        options.python_tag = tag

    yield set_tag
    options.python_tag = saved


@pytest.fixture
def emulated(project, odps_target_url, monkeypatch):
    monkeypatch.setenv("ENVCTL_TARGET", odps_target_url)
    return open_target(None, project)


def lock_nlp(project, adhoc_index, python: str = "3.11") -> None:
    (project.environments_dir / "nlp.yaml").write_text(
        f'name: nlp\npython: "{python}"\nindex_url: {adhoc_index.url}\nrequirements: [tinytext]\n'
    )
    assert main(["lock", "nlp"]) == 0


def test_requirements_alone_are_maxframes_own_server_side_pack(project, monkeypatch):
    monkeypatch.setenv(
        "ENVCTL_TARGET", "odps://nowhere?endpoint=http://127.0.0.1:9/api"
    )  # never contacted
    ours = with_python_requirements("jieba==0.40 cloudpickle", prefer_binary=True)(process)
    theirs = maxframe_udf.with_python_requirements("jieba==0.40 cloudpickle", prefer_binary=True)(
        process
    )
    assert type(ours) is maxframe_udf.MarkedFunction
    (pack,) = maxframe_udf.get_udf_pythonpacks(ours)
    assert (pack.key, list(pack.requirements), pack.prefer_binary) == (
        theirs.pythonpacks[0].key,
        list(theirs.pythonpacks[0].requirements),
        True,
    )
    assert resources_of(ours) == []
    assert adhoc.stats["builds"] == 0 and pending() == []


def test_named_environment_built_for_another_python_is_refused(
    project, emulated, deploy, python_tag
):
    deploy(emulated, "nlp", b"archive")  # deployed for 3.11
    python_tag("cp37")
    with pytest.raises(
        EnvctlError, match=r"^environment nlp is built for cp311; this session runs cp37$"
    ):
        with_environment("nlp")(process)


def test_named_environment_in_a_local_store_is_refused_with_maxframe(project, deploy):
    deploy(open_target(None, project), "nlp", b"archive")
    with pytest.raises(EnvctlError, match=r"set ENVCTL_TARGET=odps://"):
        with_environment("nlp")(process)


def test_undeployed_environment_sends_its_lock_to_the_service_not_the_decorators_strings(
    project, emulated, adhoc_index, release
):
    lock_nlp(project, adhoc_index)
    release("tinyseg", "0.41")  # newer than the lock: a re-resolution would pick it
    marked = with_python_requirements("tinytext", env="nlp")(process)
    (pack,) = maxframe_udf.get_udf_pythonpacks(marked)
    assert sorted(pack.requirements) == ["tinyseg==0.40", "tinytext==1.0"]
    assert adhoc.stats["builds"] == 0


def test_requirements_that_the_lock_does_not_satisfy_are_an_error(project, emulated, adhoc_index):
    lock_nlp(project, adhoc_index)
    with pytest.raises(EnvctlError, match=r"tinyseg>=1 is required, the lock has tinyseg 0.40"):
        with_python_requirements("tinytext tinyseg>=1", env="nlp")(process)


def test_client_build_of_the_lock_is_the_archive_apply_adopts(
    project, emulated, adhoc_index, monkeypatch
):
    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    lock_nlp(project, adhoc_index)
    marked = with_python_requirements("tinytext", env="nlp")(process)
    (name,) = ready()
    (ref,) = resources_of(marked)
    assert name.startswith("envctl-nlp-") and ref == f"envctl_test/resources/{name}"
    from envctl.targets.odps import OdpsTarget
    from envctl.udf.resolution import deployed_version

    uploaded: list[str] = []
    real_put_file = OdpsTarget.put_file
    monkeypatch.setattr(
        OdpsTarget,
        "put_file",
        lambda self, n, *a, **k: uploaded.append(n) or real_put_file(self, n, *a, **k),
    )
    assert main(["apply", "--auto-approve"]) == 0
    assert uploaded == []  # adopted, not uploaded again
    deployed = deployed_version(emulated, "nlp")
    assert deployed.resource == name == archive_name("nlp", deployed.sha256)


def test_ready_returns_only_once_a_late_archive_name_is_on_the_function(
    project, emulated, adhoc_index, monkeypatch, capfd
):
    """A never-built lock's archive name is attached when its build ends; the README's advice,
    ``ready()`` before submitting, holds only if that happens before anything waiting on the
    build (``ready()``, MaxFrame's serialization) is woken. Checked as an ordering, not a race:
    the name must be attached while the build's future is still pending."""
    from envctl.udf import background, publish

    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    lock_nlp(project, adhoc_index)
    attached_while_pending: list[bool] = []
    real_attach = publish._attach

    def watched_attach(marked, resource):
        (job,) = background._jobs.values()
        attached_while_pending.append(not job.future.done())
        real_attach(marked, resource)

    monkeypatch.setattr(publish, "_attach", watched_attach)
    marked = with_python_requirements("tinytext", env="nlp")(process)
    assert resources_of(marked) == []  # the name is not known before the build
    (name,) = ready()
    assert resources_of(marked) == [f"envctl_test/resources/{name}"]
    assert attached_while_pending == [True]
    err = capfd.readouterr().err
    assert err.count("in the background") == 1 and err.count(f"{name} is ready") == 1
    late = with_python_requirements("tinytext", env="nlp")(process)  # decorated after the build
    assert resources_of(late) == [f"envctl_test/resources/{name}"]


def test_client_builds_never_block_decoration_and_submission_waits(
    project, emulated, adhoc_index, monkeypatch, capfd
):
    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    gate = threading.Event()
    real_build = adhoc._build

    def held_build(request, *, refresh):
        assert gate.wait(300)
        return real_build(request, refresh=refresh)

    monkeypatch.setattr(adhoc, "_build", held_build)
    started = time.monotonic()
    marked = [with_python_requirements("tinytext")(process) for _ in range(10)]
    assert time.monotonic() - started < 60  # generous: the point is that the build is still held
    (ref,) = {resources_of(m)[0] for m in marked}
    name = ref.rsplit("/", 1)[-1]
    assert name.startswith("envctl_tmp-") and emulated.stat(name) is None
    assert len(pending()) == 1
    assert "in the background" in capfd.readouterr().err
    gate.set()
    payload = pickle.dumps(marked[0].func)  # what MaxFrame's serialization does at submission
    assert emulated.stat(name) is not None  # published before the function left the client
    assert pickle.loads(payload) is process  # the plain function: no envctl needed to unpickle


def test_maxframe_serialization_of_a_deferred_udf_waits_for_the_build(
    project, emulated, adhoc_index, monkeypatch
):
    from maxframe.serialization import serialize

    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    marked = with_python_requirements("tinytext")(process)
    name = resources_of(marked)[0].rsplit("/", 1)[-1]
    serialize(marked)  # as in a DAG submission
    assert emulated.stat(name) is not None


def test_a_failed_background_build_is_reported_by_ready(project, emulated, monkeypatch):
    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    monkeypatch.setenv("ENVCTL_INDEX_URL", "http://127.0.0.1:9/simple")
    with_python_requirements("tinytext")(process)
    with pytest.raises(EnvctlError, match="tinytext"):
        ready()


def test_stacking_maxframes_decorator_under_envctls_warns(project, monkeypatch):
    inner = maxframe_udf.with_python_requirements("jieba==0.40")(process)
    with pytest.warns(StackedDecoratorWarning, match="jieba==0.40"):
        with_python_requirements("pandas")(inner)


def test_envctls_own_service_pack_does_not_warn(project, recwarn):
    with_python_requirements("pandas")(with_python_requirements("jieba")(process))
    assert not [w for w in recwarn if issubclass(w.category, StackedDecoratorWarning)]


SEED_SERVICE = textwrap.dedent(
    """
    import runpy, sys
    m = runpy.run_path(sys.argv[1])
    from maxframe.udf import get_udf_pythonpacks
    from envctl.udf import adhoc, pending
    for name in ("process", "process_adhoc"):
        print(name, [sorted(p.requirements) for p in get_udf_pythonpacks(m[name])])
    print(adhoc.stats["builds"], pending())
    """
)


def test_seed_example_imports_in_service_mode_without_building(project, odps_target_url):
    """In the repository, against an empty MaxCompute project: nlp's lock pins, and the strings."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ENVCTL_TARGET": odps_target_url}
    out = subprocess.run(
        [sys.executable, "-c", SEED_SERVICE, str(repo / "examples" / "seed_udf.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=repo,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(
        "process [['cloudpickle==3.1.3', 'jieba==0.40', 'numpy==2.2.6', 'pandas==2.3.2'"
    )
    assert lines[1] == "process_adhoc [['jieba==0.40 cloudpickle pandas']]"
    assert lines[2] == "0 []"


def test_a_warm_decorator_still_checks_a_changed_session(project, emulated, deploy, python_tag):
    deploy(emulated, "nlp", b"archive")
    decorate = with_environment("nlp")
    assert resources_of(decorate(process))
    python_tag("cp37")
    with pytest.raises(EnvctlError, match="this session runs cp37"):
        decorate(process)


def test_every_change_to_the_session_after_warm_decorations_is_caught(
    project, emulated, deploy, python_tag, monkeypatch
):
    """The warm path compares MaxFrame's option entries by identity: each way of changing them
    (assignment, the same value again, option_context's copy, a custom image) is seen."""
    from maxframe.config import option_context

    deploy(emulated, "nlp", b"archive")
    decorate = with_environment("nlp")
    python_tag("cp311")
    expected = resources_of(decorate(process))
    for _ in range(3):
        assert resources_of(decorate(process)) == expected  # warm
    python_tag("cp37")
    with pytest.raises(EnvctlError, match=r"this session runs cp37$"):
        decorate(process)
    python_tag("cp311")  # back: the earlier answer holds again
    assert resources_of(decorate(process)) == expected
    python_tag("cp311")  # the same value stored anew
    assert resources_of(decorate(process)) == expected
    with option_context({"python_tag": "cp37"}):
        with pytest.raises(EnvctlError, match=r"this session runs cp37$"):
            decorate(process)
    assert resources_of(decorate(process)) == expected
    with option_context():  # restores the image name afterwards
        options.python_tag = "cp310"
        with pytest.raises(EnvctlError, match=r"this session runs cp310$"):
            decorate(process)
        options.session.image_name = "my_image"  # the image alone
        with pytest.raises(EnvctlError, match=r"this session runs cp310 \(image my_image\)$"):
            decorate(process)
    assert resources_of(decorate(process)) == expected
    monkeypatch.setenv("ENVCTL_EXEC", "nlp")  # part of the memo key, not re-read on a hit
    assert decorate(process) is process


def test_warm_service_packs_equal_maxframes_own(project):
    decorate = with_python_requirements("jieba==0.40", pre_release=True)
    first, second = decorate(process), decorate(process)  # the second takes the memoized path
    theirs = maxframe_udf.with_python_requirements("jieba==0.40", pre_release=True)(process)
    for ours in (first, second):
        (pack,) = ours.pythonpacks
        assert type(ours) is maxframe_udf.MarkedFunction and ours.func is process
        assert (pack.key, list(pack.requirements), pack.pre_release, pack.force_rebuild) == (
            theirs.pythonpacks[0].key,
            list(theirs.pythonpacks[0].requirements),
            True,
            False,
        )


def test_submission_republishes_a_temporary_archive_purged_since_decoration(
    project, emulated, adhoc_index, monkeypatch
):
    """A notebook decorates, the daily purge deletes the archive, then the job is submitted."""
    monkeypatch.setenv("ENVCTL_ADHOC", "client")
    monkeypatch.setenv("ENVCTL_RESOLVE_TTL", "0")  # ask the target again at every submission
    marked = with_python_requirements("tinytext")(process)
    (name,) = ready()
    emulated.delete(name)
    pickle.dumps(marked.func)  # MaxFrame serializing the UDF at submission
    assert emulated.stat(name) is not None
