"""Strict mode: the emulator checks pyodps's request signatures (v2 and v4) against known keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from envctl.emulator import Emulator

AK, SK = "strict-ak", "strict-sk"


def client(
    emulator: Emulator, secret: str, region: str | None = None, access_id: str = AK
) -> object:
    from odps import ODPS

    return ODPS(
        access_id,
        secret,
        project="p",
        endpoint=emulator.endpoint,
        overwrite_global=False,
        region_name=region,
    )


@pytest.mark.parametrize("region", [None, "cn-hangzhou"], ids=["v2", "v4"])
def test_signed_requests_pass_and_a_wrong_secret_or_key_is_refused(
    tmp_path: Path, region: str | None
) -> None:
    from odps import errors

    with Emulator(tmp_path) as emu:
        emu.signing_keys = {AK: SK}
        good = client(emu, SK, region)
        name = "odd name+1.txt"  # quoting and '+' are part of what is signed
        good.create_resource(name, "file", fileobj=b"data")  # type: ignore[attr-defined]
        assert [r.name for r in good.list_resources(prefix="odd")] == [name]  # type: ignore[attr-defined]
        with good.open_resource(name, mode="rb") as handle:  # type: ignore[attr-defined]
            assert handle.read() == b"data"
        for bad in (client(emu, "wrong", region), client(emu, SK, region, access_id="other")):
            with pytest.raises(errors.SignatureNotMatch) as refused:
                bad.exist_resource(name)  # type: ignore[attr-defined]
            assert refused.value.status_code == 401
        good.delete_resource(name)  # type: ignore[attr-defined]


def test_the_default_emulator_does_not_check_signatures(tmp_path: Path) -> None:
    with Emulator(tmp_path) as emu:
        assert client(emu, "anything").exist_resource("x") is False  # type: ignore[attr-defined]


def test_envctl_emulator_verify_signatures_uses_the_key_pair_in_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odps import errors

    from envctl.settings import ACCESS_KEY_ID, ACCESS_KEY_SECRET
    from envctl.testing.emulator_process import emulator_process

    monkeypatch.setenv(ACCESS_KEY_ID.name, AK)
    monkeypatch.setenv(ACCESS_KEY_SECRET.name, SK)
    with emulator_process(tmp_path / "data", "--verify-signatures") as info:
        from odps import ODPS

        def odps(secret: str) -> Any:
            return ODPS(AK, secret, project="p", endpoint=info["endpoint"], overwrite_global=False)

        assert odps(SK).exist_resource("x") is False
        with pytest.raises(errors.SignatureNotMatch):
            odps("wrong").exist_resource("x")

    monkeypatch.delenv(ACCESS_KEY_SECRET.name)
    command = ["emulator", "--port", "0", "--data", str(tmp_path / "d"), "--verify-signatures"]
    done = subprocess.run(
        [sys.executable, "-m", "envctl", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "envctl: error: --verify-signatures checks requests against ALIBABA_CLOUD_ACCESS_KEY_ID "
        "and ALIBABA_CLOUD_ACCESS_KEY_SECRET: set both in the emulator's environment"
    ]
