"""``decide``: the runtime's rules as a pure function of the query, session, target and lock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from envctl.deploy.state import VersionInfo
from envctl.lock.lockfile import Lock, LockedFile
from envctl.spec.loader import Environment
from envctl.udf.decide import (
    ClientBuild,
    Defaults,
    EnvFacts,
    LockBuild,
    Passthrough,
    Query,
    Refusal,
    ServicePack,
    TargetFacts,
    UseDeployed,
    decide,
    lock_mismatch,
)
from envctl.udf.session import Session

NLP = Environment(
    name="nlp", python="3.11", requirements=("jieba==0.40", "pandas"), exclude=("numpy",)
)


def locked(name: str, version: str) -> LockedFile:
    return LockedFile(
        name, version, f"{name}-{version}-py3-none-any.whl", "https://x", "0" * 64, 1, "wheel"
    )


LOCK = Lock(
    "nlp",
    "3.11.9",
    "manylinux2014_x86_64",
    "h",
    (locked("jieba", "0.40"), locked("pandas", "2.3.2")),
    excluded=(("numpy", "1.26.4"),),
)
NLP_FACTS = EnvFacts(NLP, LOCK, lock_current=True)
MAXFRAME_311 = Session(maxframe=True, python_tag="cp311")
MAXFRAME_37 = Session(maxframe=True, python_tag="cp37")
NO_MAXFRAME = Session(maxframe=False)
ODPS = TargetFacts("odps://proj?endpoint=http://e", maxcompute=True, project="proj")
LOCAL = TargetFacts("local:///repo/.envctl/store", maxcompute=False)
DEFAULTS = Defaults(python="3.11", platform="manylinux2014_x86_64", pin_stamp="20261126060000")
DEPLOYED = VersionInfo(
    environment="nlp",
    version=3,
    resource="envctl-nlp-abcdefabcdef.tar.gz",
    sha256="a" * 64,
    md5="b" * 32,
    size=1,
    lock_hash="c" * 64,
    python="3.11.9",
    platform="manylinux2014_x86_64",
)


def test_under_exec_the_function_passes_through():
    assert (
        decide(
            Query(environment="nlp"),
            Session(False, under_exec=True),
            LOCAL,
            EnvFacts(),
            DEFAULTS,
            "service",
        )
        == Passthrough()
    )


def test_deployed_environment_is_referenced_in_its_project():
    decision = decide(
        Query(environment="nlp"),
        MAXFRAME_311,
        replace(ODPS, deployed=DEPLOYED),
        NLP_FACTS,
        DEFAULTS,
        "service",
    )
    assert decision == UseDeployed("proj/resources/envctl-nlp-abcdefabcdef.tar.gz", "nlp")


def test_python_mismatch_with_the_session_is_a_one_line_refusal():
    decision = decide(
        Query(environment="nlp"),
        MAXFRAME_37,
        replace(ODPS, deployed=DEPLOYED),
        NLP_FACTS,
        DEFAULTS,
        "service",
    )
    assert decision == Refusal("environment nlp is built for cp311; this session runs cp37")


def test_with_maxframe_a_local_target_is_refused_naming_envctl_target():
    decision = decide(Query(environment="nlp"), MAXFRAME_311, LOCAL, NLP_FACTS, DEFAULTS, "service")
    assert isinstance(decision, Refusal) and "ENVCTL_TARGET=odps://" in decision.message
    assert "local:///repo/.envctl/store" in decision.message


def test_without_maxframe_a_local_deployment_is_a_bare_name():
    decision = decide(
        Query(environment="nlp"),
        NO_MAXFRAME,
        replace(LOCAL, deployed=DEPLOYED),
        NLP_FACTS,
        DEFAULTS,
        "service",
    )
    assert decision == UseDeployed("envctl-nlp-abcdefabcdef.tar.gz", "nlp")


def test_undeployed_environment_sends_its_lock_pins_to_the_service():
    decision = decide(
        Query("nlp", ("jieba==0.40",)), MAXFRAME_311, ODPS, NLP_FACTS, DEFAULTS, "service"
    )
    assert decision == ServicePack(
        ("jieba==0.40", "pandas==2.3.2"), environment="nlp"
    )  # numpy: provided


def test_undeployed_environment_in_client_mode_builds_its_lock():
    decision = decide(Query("nlp", ("jieba",)), MAXFRAME_311, ODPS, NLP_FACTS, DEFAULTS, "client")
    assert decision == LockBuild("nlp", NLP, LOCK, ODPS.url)


def test_undeployed_environment_never_re_resolves_without_a_current_lock():
    stale = decide(
        Query("nlp", ("jieba",)),
        MAXFRAME_311,
        ODPS,
        replace(NLP_FACTS, lock_current=False),
        DEFAULTS,
        "service",
    )
    assert stale == Refusal(
        "environment 'nlp' is not deployed and its lock is out of date; run 'envctl lock nlp'"
    )
    missing = decide(
        Query("nlp", ("jieba",)), MAXFRAME_311, ODPS, EnvFacts(NLP), DEFAULTS, "client"
    )
    assert (
        isinstance(missing, Refusal)
        and "has no committed lock; run 'envctl lock nlp'" in missing.message
    )


@pytest.mark.parametrize(
    "requirement, problem",
    [
        ("pandas>=3", "pandas>=3 is required, the lock has pandas 2.3.2"),
        ("numpy<1.20", "numpy<1.20 is required, the lock has numpy 1.26.4"),
        ("requests", "requests is not in the lock"),
    ],
)
def test_requirements_are_checked_against_the_lock(requirement, problem):
    decision = decide(
        Query("nlp", (requirement,)),
        MAXFRAME_311,
        replace(ODPS, deployed=DEPLOYED),
        NLP_FACTS,
        DEFAULTS,
        "service",
    )
    assert isinstance(decision, Refusal)
    assert decision.message.startswith(
        f"environment 'nlp' does not satisfy the decorator: {problem}"
    )


def test_requirements_true_on_the_lock_or_off_target_pass():
    assert (
        lock_mismatch(("jieba==0.40 pandas>=2,<3", "pandas>=3; python_version<'3.8'"), LOCK) is None
    )


def test_requirements_alone_go_to_maxframe_in_service_mode():
    query = Query(requirements=("jieba==0.40 cloudpickle",), force_rebuild=True, prefer_binary=True)
    assert decide(query, MAXFRAME_37, LOCAL, EnvFacts(), DEFAULTS, "service") == ServicePack(
        ("jieba==0.40 cloudpickle",), force_rebuild=True, prefer_binary=True
    )


def test_client_builds_target_the_session_runtime_under_a_name_known_in_advance():
    decision = decide(
        Query(requirements=("jieba==0.40",)), MAXFRAME_37, ODPS, EnvFacts(), DEFAULTS, "client"
    )
    assert isinstance(decision, ClientBuild)
    assert decision.request.python == "3.7.3"
    assert decision.name == decision.request.temporary_name
    assert decision.resource == f"proj/resources/{decision.name}"
    pinned = decide(
        Query(requirements=("jieba",), force_rebuild=True),
        MAXFRAME_37,
        ODPS,
        EnvFacts(),
        DEFAULTS,
        "client",
    )
    assert isinstance(pinned, ClientBuild) and pinned.pinned
    assert pinned.name.startswith("envctl_pin-") and pinned.name.endswith("-20261126060000.tar.gz")


def test_client_builds_with_maxframe_need_a_maxcompute_target():
    decision = decide(
        Query(requirements=("jieba",)), MAXFRAME_311, LOCAL, EnvFacts(), DEFAULTS, "client"
    )
    assert isinstance(decision, Refusal) and "ENVCTL_TARGET=odps://" in decision.message


def test_force_rebuild_of_a_locked_environment_is_refused():
    decision = decide(
        Query("nlp", ("jieba",), force_rebuild=True),
        MAXFRAME_311,
        ODPS,
        NLP_FACTS,
        DEFAULTS,
        "service",
    )
    assert isinstance(decision, Refusal) and "pinned by its lock" in decision.message


def test_a_custom_image_session_is_named_and_its_tag_decides_client_builds():
    session = Session(maxframe=True, python_tag="cp310", image_name="my_image")
    refused = decide(
        Query(environment="nlp"),
        session,
        replace(ODPS, deployed=DEPLOYED),
        NLP_FACTS,
        DEFAULTS,
        "service",
    )
    assert refused == Refusal(
        "environment nlp is built for cp311; this session runs cp310 (image my_image)"
    )
    build = decide(Query(requirements=("jieba",)), session, ODPS, EnvFacts(), DEFAULTS, "client")
    assert isinstance(build, ClientBuild) and build.request.python == "3.10"
