"""Installing wheels: RECORD must tell the truth, odd names and clashes are one-line errors."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from envctl.build.install import install_wheel
from envctl.errors import EnvctlError
from envctl.testing.wheels import Dist, wheel_bytes, wheel_filename


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def hostile_wheel(
    directory: Path,
    files: dict[str, bytes],
    *,
    listed: dict[str, bytes] | None = None,
    extra_rows: tuple[str, ...] = (),
) -> Path:
    """A wheel of ``files`` whose RECORD lists ``listed`` (default ``files``) + ``extra_rows``."""
    info = "evil-1.0.dist-info"
    entries = {
        **files,
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    described = {
        **(files if listed is None else listed),
        **{k: v for k, v in entries.items() if k.startswith(info)},
    }
    rows = [f"{path},{_digest(data)},{len(data)}" for path, data in described.items()]
    rows += [*extra_rows, f"{info}/RECORD,,"]
    entries[f"{info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    wheel = directory / "evil-1.0-py3-none-any.whl"
    wheel.write_bytes(buffer.getvalue())
    return wheel


def install_error(wheel: Path, tree: Path) -> str:
    with pytest.raises(EnvctlError) as caught:
        install_wheel(wheel, tree)
    message = str(caught.value)
    assert "\n" not in message
    return message


GOOD = {"evil/__init__.py": b"x = 1\n"}


def test_a_hash_that_does_not_match_record_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    wheel = hostile_wheel(tmp_path, {"evil/__init__.py": b"x = 2\n"}, listed=GOOD)
    message = install_error(wheel, tmp_path / "tree")
    assert message.startswith("cannot install evil-1.0-py3-none-any.whl: ")
    assert "evil/__init__.py didn't match RECORD" in message
    assert not (tmp_path / "tree").exists()


def test_a_file_record_does_not_list_is_refused(tmp_path: Path) -> None:
    wheel = hostile_wheel(tmp_path, {**GOOD, "evil/hidden.py": b"boom"}, listed=GOOD)
    assert "evil/hidden.py is not mentioned in RECORD" in install_error(wheel, tmp_path / "tree")


def test_a_ghost_record_row_pointing_outside_is_refused(tmp_path: Path) -> None:
    wheel = hostile_wheel(tmp_path, GOOD, extra_rows=(f"../../../evil.py,{_digest(b'')},0",))
    message = install_error(wheel, tmp_path / "tree")
    assert "RECORD lists '../../../evil.py', which the wheel does not contain" in message


def test_a_member_name_with_a_newline_is_one_line_cannot_install(tmp_path: Path) -> None:
    wheel = hostile_wheel(tmp_path, {"evil/a\nb.py": b"1"})
    message = install_error(wheel, tmp_path / "tree")
    assert message.startswith(
        "cannot install evil-1.0-py3-none-any.whl: member name 'evil/a\\nb.py'"
    )


def test_two_wheels_shipping_the_same_file_name_the_clash(tmp_path: Path) -> None:
    first, second = (
        Dist(name, "1.0", {"shared/util.py": f"who = {name!r}\n"}) for name in ("alpha", "beta")
    )
    paths = []
    for dist in (first, second):
        path = tmp_path / wheel_filename(dist, "py3-none-any")
        path.write_bytes(wheel_bytes(dist, "py3-none-any"))
        paths.append(path)
    install_wheel(paths[0], tmp_path / "tree")
    message = install_error(paths[1], tmp_path / "tree")
    assert message.startswith(
        "cannot install beta-1.0-py3-none-any.whl: it overwrites a file of another package"
    )
    assert "shared/util.py" in message


def test_an_honest_wheel_installs(tmp_path: Path) -> None:
    installed = install_wheel(hostile_wheel(tmp_path, GOOD), tmp_path / "tree")
    assert (tmp_path / "tree" / "packages" / "evil" / "__init__.py").read_bytes() == GOOD[
        "evil/__init__.py"
    ]
    assert installed.unpacked_bytes > len(GOOD["evil/__init__.py"])
