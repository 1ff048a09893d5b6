from __future__ import annotations

import pytest

from envctl.errors import EnvctlError
from envctl.lock.target_python import TargetPython, full_version, platform_tags


def test_minor_version_means_documented_patch_level_not_dot_zero():
    assert full_version("3.7") == "3.7.3"  # MaxCompute's cp37 runtime
    assert full_version("3.11") == "3.11.9"
    assert full_version("3.7.3") == "3.7.3"


def test_unknown_minor_is_a_clear_error():
    with pytest.raises(EnvctlError, match="not a supported target"):
        full_version("3.99")


def test_manylinux2014_accepts_older_policies_and_legacy_aliases_but_not_host_linux_tag():
    tags = platform_tags("manylinux2014_x86_64")
    assert tags[:2] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert {"manylinux2010_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"} <= set(tags)
    assert "linux_x86_64" not in tags and "manylinux_2_28_x86_64" not in tags


def test_markers_are_evaluated_for_the_target_not_the_host():
    assert TargetPython.of("3.7", "manylinux2014_x86_64").evaluate('python_version < "3.8"')
    assert not TargetPython.of("3.11", "manylinux2014_x86_64").evaluate('python_version < "3.8"')
    assert TargetPython.of("3.7", "manylinux2014_aarch64").evaluate('platform_machine == "aarch64"')


@pytest.mark.parametrize(
    ("filename", "python", "ok"),
    [
        ("numpy-1.21.6-cp37-cp37m-manylinux_2_12_x86_64.manylinux2010_x86_64.whl", "3.7", True),
        ("numpy-1.21.6-cp37-cp37m-manylinux_2_12_x86_64.manylinux2010_x86_64.whl", "3.11", False),
        ("x-1.0-cp311-abi3-manylinux2014_x86_64.whl", "3.11", True),
        ("x-1.0-cp39-abi3-manylinux2014_x86_64.whl", "3.11", True),
        ("x-1.0-py3-none-any.whl", "3.7", True),
        ("x-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", "3.11", False),
        ("x-1.0-cp311-cp311-linux_x86_64.whl", "3.11", False),
        ("x-1.0-cp311-cp311-macosx_11_0_arm64.whl", "3.11", False),
    ],
)
def test_wheel_compatibility_uses_target_tags(filename, python, ok):
    assert TargetPython.of(python, "manylinux2014_x86_64").supports_wheel(filename) is ok


def test_specific_binary_wheel_ranks_above_pure_wheel():
    target = TargetPython.of("3.11", "manylinux2014_x86_64")
    assert target.wheel_rank("x-1-cp311-cp311-manylinux2014_x86_64.whl") > target.wheel_rank(
        "x-1-py3-none-any.whl"
    )
