"""A CD job deploying to two targets: each in its own schema, each signed with its own keys.

The emulator checks every signature (strict mode) and the job's ambient keys are wrong, so the
flow passes only if each named target's own credential variables sign its requests.
"""

from __future__ import annotations

import json

import pytest

from envctl.deploy.state import STATE_OBJECT
from envctl.emulator import Emulator

KEYS = {"dev-access-id": "dev-secret-value", "prod-access-id": "prod-secret-value"}


def test_plan_apply_promote_status_gc_across_schemas_with_per_target_keys(
    project, odps_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    odps_emulator.signing_keys = dict(KEYS)
    base = odps_emulator.target_url("envctl_test") + "&chunk_size=65536"
    (project.root / "envctl.toml").write_text(
        "[targets.dev]\n"
        f'url = "{base}&schema=dev_schema"\n'
        'access_key_id_var = "DEV_AK"\naccess_key_secret_var = "DEV_SK"\n'
        "[targets.prod]\n"
        f'url = "{base}&schema=prod_schema"\n'
        'access_key_id_var = "PROD_AK"\naccess_key_secret_var = "PROD_SK"\n'
    )
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "dev-access-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "an-ambient-wrong-secret")
    for variable, value in zip(("DEV_AK", "DEV_SK", "PROD_AK", "PROD_SK"), sum(KEYS.items(), ())):
        monkeypatch.setenv(variable, value)
    project.spec("nlp", "3.11", ["tinypure"])
    assert project.run("lock") == 0

    assert project.run("plan", "--target", "dev", "--detailed-exitcode") == 2
    assert project.run("apply", "--target", "dev", "--auto-approve") == 0
    assert project.run("promote", "nlp", "--from", "dev", "--to", "prod", "--auto-approve") == 0
    assert project.run("gc", "--target", "prod", "--grace", "0s", "--keep", "1") == 0
    capsys.readouterr()
    for name in ("dev", "prod"):
        assert project.run("status", "--target", name, "--format", "json") == 0
        rows = json.loads(capsys.readouterr().out)["environments"]
        assert [(r["environment"], r["version"]) for r in rows] == [("nlp", 1)]
    dev = odps_emulator.store.names("envctl_test", "dev_schema")
    prod = odps_emulator.store.names("envctl_test", "prod_schema")
    archives = [n for n in dev if n.endswith(".tar.gz")]
    assert STATE_OBJECT in dev and STATE_OBJECT in prod and archives
    assert set(archives) <= set(prod), "the same archive in prod's schema"
    assert odps_emulator.store.names("envctl_test") == []
    output = capsys.readouterr()
    assert not any(secret in output.out + output.err for secret in KEYS.values())

    monkeypatch.setenv("PROD_SK", "a-wrong-prod-secret")
    assert project.run("status", "--target", "prod") == 1
    assert "SignatureNotMatch" in capsys.readouterr().err
