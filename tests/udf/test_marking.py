"""Marking a UDF: exactly MaxFrame's with_resources when available, a plain attribute otherwise."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from envctl.udf.marking import RESOURCES_ATTR, mark, resources_of

try:
    import maxframe.udf as maxframe_udf
except ImportError:  # the optional extra is absent
    maxframe_udf = None

needs_maxframe = pytest.mark.skipif(maxframe_udf is None, reason="maxframe not installed")


def process(row: str) -> str:
    return row + "_x"


@needs_maxframe
def test_mark_equals_maxframe_with_resources():
    ours = mark(process, ["proj/resources/envctl-nlp-abc.tar.gz"])
    theirs = maxframe_udf.with_resources("proj/resources/envctl-nlp-abc.tar.gz")(process)
    assert type(ours) is type(theirs) is maxframe_udf.MarkedFunction
    assert ours.file_resources == theirs.file_resources == ["proj/resources/envctl-nlp-abc.tar.gz"]
    assert ours.func is process
    assert ours("a") == "a_x"


@needs_maxframe
@pytest.mark.parametrize("running_first", [True, False])
def test_mark_composes_with_running_options_in_either_order(running_first):
    running = maxframe_udf.with_running_options(engine="dpe", cpu=2, memory="4GiB")
    if running_first:
        func = mark(running(process), ["r.tar.gz"])
    else:
        func = running(mark(process, ["r.tar.gz"]))
    assert isinstance(func, maxframe_udf.MarkedFunction)
    assert maxframe_udf.get_udf_resources(func) == ["r.tar.gz"]
    assert func.expect_engine == "DPE"
    assert func.expect_resources == {"cpu": 2, "memory": "4GiB"}
    assert func("b") == "b_x"


@needs_maxframe
def test_mark_composes_with_maxframe_python_requirements():
    from envctl.udf import StackedDecoratorWarning

    with pytest.warns(
        StackedDecoratorWarning
    ):  # it works, but ships both: said once, at decoration
        func = mark(maxframe_udf.with_python_requirements("jieba==0.40")(process), ["r.tar.gz"])
    assert maxframe_udf.get_udf_resources(func) == ["r.tar.gz"]
    assert [list(p.requirements) for p in maxframe_udf.get_udf_pythonpacks(func)] == [
        ["jieba==0.40"]
    ]
    assert resources_of(func) == ["r.tar.gz"]


BLOCK_MAXFRAME = textwrap.dedent(
    """
    import sys
    sys.modules["maxframe"] = None  # import maxframe now raises ImportError
    """
)


def test_without_maxframe_the_function_itself_carries_the_resources():
    code = BLOCK_MAXFRAME + textwrap.dedent(
        f"""
        from envctl.udf.marking import mark, resources_of

        def process(row):
            return row + "_x"

        marked = mark(process, ["a.tar.gz"])
        marked = mark(marked, ["b.tar.gz", "a.tar.gz"])
        assert marked is process, marked
        assert marked.{RESOURCES_ATTR} == ["a.tar.gz", "b.tar.gz"]
        assert resources_of(marked) == ["a.tar.gz", "b.tar.gz"]
        assert marked("r") == "r_x"
        assert "maxframe.udf" not in sys.modules
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_callables_without_attribute_support_are_wrapped_without_maxframe():
    code = BLOCK_MAXFRAME + textwrap.dedent(
        """
        from envctl.udf.marking import mark, resources_of
        marked = mark(len, ["a.tar.gz"])
        assert marked is not len and marked("abc") == 3
        assert resources_of(marked) == ["a.tar.gz"]
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
