"""Strict mode: the emulator checks pyodps's request signatures (v2 and v4) against known keys."""

from __future__ import annotations

from pathlib import Path

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
