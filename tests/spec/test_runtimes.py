"""MaxCompute's UDF runtimes as data, and ``validate``'s warning for any other python."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.cli import main
from envctl.spec.runtimes import is_maxcompute_runtime, python_tag, runtime_python


def test_runtimes_are_cp37_at_3_7_3_and_cp311():
    assert runtime_python("cp37") == "3.7.3" and runtime_python("cp311") == "3.11"
    assert python_tag("3.7.3") == python_tag("3.7") == "cp37"
    assert (
        is_maxcompute_runtime("3.7")
        and is_maxcompute_runtime("3.7.3")
        and is_maxcompute_runtime("3.11.9")
    )
    assert not is_maxcompute_runtime("3.7.9") and not is_maxcompute_runtime("3.10")


@pytest.mark.parametrize(
    "python, extra, warned",
    [
        ("3.7", "", False),
        ("3.11", "", False),
        ("3.10", "", True),
        ("3.10", "custom_image: true\n", False),
    ],
)
def test_validate_warns_about_a_python_no_maxcompute_runtime_has(
    tmp_path: Path, capsys, python, extra, warned
):
    spec = tmp_path / "demo.yaml"
    spec.write_text(f'name: demo\npython: "{python}"\n{extra}requirements: [six]\n')
    assert main(["validate", str(spec)]) == 0
    err = capsys.readouterr().err
    assert ("is not a MaxCompute UDF runtime" in err) is warned
    if warned:
        assert (
            "environment 'demo': python 3.10 is not a MaxCompute UDF runtime "
            "(3.7.3 (cp37), 3.11 (cp311)); set 'custom_image: true' if it runs in a custom image"
            in " ".join(err.split())
        )
