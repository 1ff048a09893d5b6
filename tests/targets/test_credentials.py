"""Where an odps target's credentials come from, in precedence order, against a strict emulator.

The emulator checks every signature here (``Emulator.signing_keys``), so a test passes only
when the credentials the precedence picked are the right ones: a wrong secret is refused.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from envctl import console
from envctl.emulator import Emulator
from envctl.errors import EnvctlError
from envctl.settings import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SECURITY_TOKEN
from envctl.spec.project import Project
from envctl.targets import open_target
from envctl.targets.credentials import configure_entry
from envctl.targets.odps import OdpsTarget
from envctl.testing.emulator_fixtures import TEST_PROJECT, emulator_target_url

AK, SK = "strict-access-id", "strict-secret-value"
PYODPS_VARIABLES = (
    "ODPS_STS_ACCOUNT_FILE",
    "ODPS_STS_ACCESS_KEY_ID",
    "ODPS_STS_ACCESS_KEY_SECRET",
    "ODPS_STS_TOKEN",
    "ODPS_BEARER_TOKEN",
    "ODPS_BEARER_TOKEN_FILE",
)


@pytest.fixture
def strict(odps_emulator: Emulator) -> Emulator:
    odps_emulator.signing_keys = {AK: SK}
    return odps_emulator


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No credentials anywhere but where a test puts them; nothing handed over survives it."""
    from odps import options

    for name in (
        ACCESS_KEY_ID.name,
        ACCESS_KEY_SECRET.name,
        SECURITY_TOKEN.name,
        "ENVCTL_TARGET",
        *PYODPS_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)
    saved = options.account, options.default_project, options.endpoint
    options.account = None
    yield
    configure_entry(None)
    options.account, options.default_project, options.endpoint = saved


def entry(emulator: Emulator, secret: str = SK, project: str = TEST_PROJECT) -> Any:
    from odps import ODPS

    return ODPS(AK, secret, project=project, endpoint=emulator.endpoint, overwrite_global=False)


def round_trip(target: Any) -> None:
    target.retry_wait = 0.01
    target.put_bytes("envctl-probe.json", b"{}")
    assert target.read("envctl-probe.json") == b"{}"


def test_the_strict_emulator_refuses_a_wrong_secret_with_a_clear_error(
    strict: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ACCESS_KEY_ID.name, AK)
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, "not-the-secret")
    target = open_target(emulator_target_url(strict), Project(tmp_path))
    with pytest.raises(EnvctlError, match=r"SignatureNotMatch \(check the credentials"):
        target.list("envctl-")
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, SK)
    round_trip(open_target(emulator_target_url(strict), Project(tmp_path)))


def test_an_entry_configured_in_python_signs_and_names_the_target(
    strict: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import envctl.udf

    monkeypatch.setenv(ACCESS_KEY_ID.name, AK)
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, "a-wrong-ambient-secret")  # the entry wins
    envctl.udf.configure(odps=entry(strict, project="from_entry"))
    target = open_target(None, Project(tmp_path))  # no --target: the entry's project
    assert isinstance(target, OdpsTarget) and target.project == "from_entry"
    assert target.credential_source == "envctl.udf.configure(odps=...)"
    round_trip(target)
    round_trip(target.clone())
    explicit = open_target(emulator_target_url(strict), Project(tmp_path))
    assert explicit.project == TEST_PROJECT  # type: ignore[attr-defined]
    round_trip(explicit)  # an explicit target is signed by the entry too
    assert console.redact(f"oops {SK}") == "oops ***"

    envctl.udf.configure(odps=None)
    with pytest.raises(EnvctlError, match="SignatureNotMatch"):
        open_target(emulator_target_url(strict), Project(tmp_path)).list("envctl-")


def test_a_target_built_from_an_entry(strict: Emulator) -> None:
    target = OdpsTarget.from_entry(entry(strict))
    assert target.url == emulator_target_url(strict).replace("%3A", ":")
    round_trip(target)
    with pytest.raises(EnvctlError, match=r"takes an odps\.ODPS entry"):
        configure_entry("odps://p")  # type: ignore[arg-type]


def test_the_maxframe_sessions_entry_is_used_when_one_is_active(
    strict: Emulator, tmp_path: Path
) -> None:
    session = pytest.importorskip("maxframe.session")
    session.new_session(entry(strict), debug=True)
    try:
        target = open_target(None, Project(tmp_path))
        assert target.credential_source == "the MaxFrame session's entry"  # type: ignore[attr-defined]
        round_trip(target)
    finally:
        session.clear_default_session()


def test_pyodps_global_account_then_its_sts_variables(
    strict: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = emulator_target_url(strict)
    entry(strict).to_global()
    target = open_target(url, Project(tmp_path))
    assert target.credential_source == "pyodps's global account (to_global)"  # type: ignore[attr-defined]
    round_trip(target)

    from odps import options

    options.account = None
    monkeypatch.setenv("ODPS_STS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("ODPS_STS_ACCESS_KEY_SECRET", SK)
    monkeypatch.setenv("ODPS_STS_TOKEN", "an-sts-token-value")
    target = open_target(url, Project(tmp_path))
    assert target.credential_source == "pyodps's StsAccount from ODPS_*"  # type: ignore[attr-defined]
    round_trip(target)
    assert console.redact("an-sts-token-value strict-secret-value") == "*** ***"


def test_a_pyodps_bearer_token_is_sent_and_strict_mode_refuses_it(
    odps_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ODPS_BEARER_TOKEN", "a-bearer-token-value")
    target = open_target(emulator_target_url(odps_emulator), Project(tmp_path))
    assert target.credential_source == "pyodps's BearerTokenAccount from ODPS_*"  # type: ignore[attr-defined]
    round_trip(target)
    assert console.redact("a-bearer-token-value") == "***"
    odps_emulator.signing_keys = {AK: SK}  # strict mode knows key pairs only
    with pytest.raises(EnvctlError, match="SignatureNotMatch"):
        target.list("envctl-")


def test_ambient_alibaba_cloud_variables_win_over_pyodps_conventions(
    strict: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ACCESS_KEY_ID.name, AK)
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, SK)
    monkeypatch.setenv("ODPS_STS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("ODPS_STS_ACCESS_KEY_SECRET", "wrong")
    monkeypatch.setenv("ODPS_STS_TOKEN", "token")
    round_trip(open_target(emulator_target_url(strict), Project(tmp_path)))


def test_a_named_targets_variables_win_over_ambient_ones(
    strict: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "envctl.toml").write_text(
        f'[targets.prod]\nurl = "{emulator_target_url(strict)}"\n'
        'access_key_id_var = "PROD_AK"\naccess_key_secret_var = "PROD_SK"\n'
    )
    monkeypatch.setenv(ACCESS_KEY_ID.name, AK)
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, "the-dev-secret")
    monkeypatch.setenv("PROD_AK", AK)
    monkeypatch.setenv("PROD_SK", SK)
    target = open_target("prod", Project(tmp_path))
    assert target.credential_source == "PROD_AK"  # type: ignore[attr-defined]
    round_trip(target)


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envctl", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_default_credential_chain_reads_a_credentials_file(
    strict: Emulator, tmp_path: Path
) -> None:
    pytest.importorskip("alibabacloud_credentials")
    ini = tmp_path / "credentials.ini"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALIBABA_CLOUD_", "ODPS_", "ENVCTL_TARGET"))
    }
    env.update(
        ALIBABA_CLOUD_CREDENTIALS_FILE=str(ini),
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
        ALIBABA_CLOUD_CLI_PROFILE_DISABLED="true",
        ENVCTL_TARGET=emulator_target_url(strict),
    )
    (tmp_path / "environments").mkdir()
    ini.write_text(
        f"[default]\ntype = access_key\naccess_key_id = {AK}\naccess_key_secret = {SK}\n"
    )
    done = _cli(["-v", "status"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "credentials from the Alibaba Cloud default credential chain" in done.stderr
    assert SK not in done.stdout + done.stderr

    ini.write_text(f"[default]\ntype = access_key\naccess_key_id = {AK}\naccess_key_secret = no\n")
    done = _cli(["status"], env, tmp_path)
    assert done.returncode == 1
    assert (
        done.stderr.startswith("envctl: error: MaxCompute refused")
        and "SignatureNotMatch" in done.stderr
    )
    assert "Traceback" not in done.stderr

    ini.unlink()
    done = _cli(["status"], env, tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "envctl: error: the odps target needs credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials), "
        "pass an odps.ODPS entry (envctl.udf.configure(odps=o)), use pyodps's ODPS_STS_* / "
        "ODPS_BEARER_TOKEN variables, or install envctl[cloud] for the Alibaba Cloud default "
        "credential chain (credentials file, OIDC, ECS RAM role)"
    ]


def test_pyodps_own_logs_never_show_a_token_or_signature(
    strict: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: Any
) -> None:
    """pyodps logs ``STS token reloaded: <token>`` (INFO) and signed headers (DEBUG)."""
    monkeypatch.setenv("ODPS_STS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("ODPS_STS_ACCESS_KEY_SECRET", SK)
    monkeypatch.setenv("ODPS_STS_TOKEN", "a-logged-sts-token")
    with caplog.at_level(logging.DEBUG, logger="odps"):
        target = open_target(emulator_target_url(strict), Project(tmp_path))
        round_trip(target)
        target.client.account.reload(force=True)  # what a token refresh logs
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("odps"))
    assert "STS token reloaded: ***" in logged and "'Authorization': '***'" in logged
    assert "a-logged-sts-token" not in logged and SK not in logged
    assert f"ODPS {AK}:" not in logged, "the signed Authorization header is masked"
