"""The resolution cache: in-process hits, disk hits across instances, expiry and misses."""

from __future__ import annotations

from envctl.udf.cache import ResolutionCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_value_survives_a_new_process_via_disk(tmp_path):
    clock = Clock()
    ResolutionCache(tmp_path, clock).put("k", {"resource": "r"}, ttl=60)
    assert ResolutionCache(tmp_path, clock).get("k") == {"resource": "r"}


def test_entries_expire_in_memory_and_on_disk(tmp_path):
    clock = Clock()
    cache = ResolutionCache(tmp_path, clock)
    cache.put("k", "v", ttl=60)
    clock.now += 61
    assert cache.get("k") is None
    assert ResolutionCache(tmp_path, clock).get("k") is None


def test_zero_ttl_stores_nothing(tmp_path):
    cache = ResolutionCache(tmp_path)
    cache.put("k", "v", ttl=0)
    assert cache.get("k") is None
    assert not list(tmp_path.iterdir())


def test_corrupt_or_foreign_files_are_misses(tmp_path):
    cache = ResolutionCache(tmp_path)
    cache.put("k", "v", ttl=60)
    (path,) = tmp_path.glob("*.json")
    path.write_text("{not json")
    assert ResolutionCache(tmp_path).get("k") is None


def test_forget_removes_both_layers(tmp_path):
    cache = ResolutionCache(tmp_path)
    cache.put("k", "v", ttl=60)
    cache.forget("k")
    assert cache.get("k") is None
    assert ResolutionCache(tmp_path).get("k") is None


def test_unwritable_directory_degrades_to_memory_only(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = ResolutionCache(blocker / "sub")
    cache.put("k", "v", ttl=60)
    assert cache.get("k") == "v"
