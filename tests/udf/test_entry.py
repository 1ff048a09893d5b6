"""A notebook's ``odps.ODPS`` entry: no key in the environment, no ENVCTL_TARGET, a schema."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import envctl.udf
from envctl.emulator import Emulator
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.udf import resources_of, with_environment
from envctl.udf.publish import _ref

AK, SK = "notebook-ak", "notebook-secret"


@pytest.fixture
def notebook_entry(odps_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Only the entry holds credentials; the emulator checks its signatures."""
    from odps import ODPS

    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    odps_emulator.signing_keys = {AK: SK}
    entry = ODPS(
        AK,
        SK,
        project="envctl_test",
        endpoint=odps_emulator.endpoint,
        schema="analytics",
        overwrite_global=False,
    )
    envctl.udf.configure(odps=entry)
    yield entry
    envctl.udf.configure(odps=None)


def test_a_configured_entry_is_the_target_and_its_schema_names_the_resources(
    project: Project, deploy: Any, notebook_entry: Any, odps_emulator: Emulator
) -> None:
    target = open_target(None, project)
    assert target.url.endswith("&schema=analytics")
    info = deploy(target, "nlp", b"archive-in-a-schema")
    marked = with_environment("nlp")(lambda row: row)
    assert resources_of(marked) == [f"envctl_test/schemas/analytics/resources/{info.resource}"]
    assert info.resource in odps_emulator.store.names("envctl_test", "analytics")
    assert odps_emulator.store.names("envctl_test") == []


@pytest.mark.parametrize(
    "url, reference",
    [
        ("odps://p?endpoint=http://e/api", "p/resources/a.tar.gz"),
        ("odps://p?endpoint=http://e/api&schema=s1", "p/schemas/s1/resources/a.tar.gz"),
        ("local:///store", "a.tar.gz"),
    ],
)
def test_a_lock_build_names_its_archive_in_the_targets_schema(url: str, reference: str) -> None:
    assert _ref(url, "a.tar.gz") == reference
