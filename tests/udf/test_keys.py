"""Ad-hoc cache keys: order- and spelling-insensitive, sensitive to everything that changes a
build.
"""

from __future__ import annotations

import pytest

from envctl.errors import EnvctlError
from envctl.udf.keys import AdhocRequest, is_adhoc_resource


def request(reqs, **kw):
    kw.setdefault("python", "3.11")
    kw.setdefault("platform", "manylinux2014_x86_64")
    return AdhocRequest.create(reqs, **kw)


def test_key_ignores_order_splitting_and_name_spelling():
    a = request(["jieba==0.40 cloudpickle pandas"])
    b = request(["Pandas", "CloudPickle", "jieba == 0.40"])
    assert a.key == b.key
    assert a.temporary_name == b.temporary_name


@pytest.mark.parametrize(
    "change",
    [
        {"python": "3.7"},
        {"platform": "manylinux2014_aarch64"},
        {"prefer_binary": True},
        {"pre_release": True},
        {"index_url": "http://127.0.0.1:1/simple"},
        {"extra_index_urls": ["http://127.0.0.1:2/simple"]},
    ],
)
def test_key_changes_with_build_inputs(change):
    assert request(["jieba==0.40"]).key != request(["jieba==0.40"], **change).key


def test_names_are_recognizable_archives():
    r = request(["jieba"])
    assert is_adhoc_resource(r.temporary_name)
    assert is_adhoc_resource(r.pinned_name("f" * 64))
    assert r.pinned_name("a" * 64) != r.pinned_name("b" * 64)
    assert not is_adhoc_resource("envctl-nlp-0123.tar.gz")


def test_invalid_requirement_is_a_clear_error():
    with pytest.raises(EnvctlError, match="invalid requirement"):
        request(["jieba==="])
