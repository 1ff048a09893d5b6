"""Installed trees per wheel hash: rebuilds install only what changed; bytes ignore the cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from envctl.build import builder
from envctl.build.archive import LazyTree, write_archive, write_archive_lazy
from envctl.build.builder import build_lock, installed_tree
from envctl.build.cache import Cache
from envctl.build.install import installed_tops
from envctl.errors import EnvctlError
from envctl.files import file_hexdigest
from envctl.lock.lockfile import Lock, LockedFile
from envctl.testing.wheels import Dist, wheel_bytes, wheel_filename

TAG = "py3-none-any"


def wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> LockedFile:
    dist = Dist(name, version, files)
    path = directory / wheel_filename(dist, TAG)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wheel_bytes(dist, TAG))
    return LockedFile(
        name,
        version,
        path.name,
        path.as_uri(),
        file_hexdigest(path, "sha256"),
        path.stat().st_size,
        "wheel",
    )


def lock_of(*files: LockedFile) -> Lock:
    return Lock(
        "demo",
        "3.11.9",
        "manylinux2014_x86_64",
        "i" * 64,
        tuple(sorted(files, key=lambda f: f.name)),
    )


@pytest.fixture
def wheels(tmp_path: Path) -> dict[str, LockedFile]:
    where = tmp_path / "wheels"
    made = {
        "alpha": wheel(
            where, "alpha", "1.0", {"alpha/__init__.py": "A = 1\n", "alpha/sub/x.py": "X = 1\n"}
        ),
        "beta": wheel(where, "beta", "1.0", {"beta.py": "B = 1\n"}),
        "beta2": wheel(where, "beta", "2.0", {"beta.py": "B = 2\n"}),
        "shared": wheel(where, "nsone", "1.0", {"ns/one.py": "ONE = 1\n"}),
        "shared2": wheel(where, "nstwo", "1.0", {"ns/two.py": "TWO = 2\n"}),
    }
    return made


def build(lock: Lock, cache: Cache) -> bytes:
    built = build_lock(lock, index_urls=(), progress=False, cache=cache)
    assert not built.cached
    return built.path.read_bytes()


def counting_installs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = builder.install_wheel

    def install(wheel_path: Path, tree: Path):  # type: ignore[no-untyped-def]
        calls.append(wheel_path.name)
        return real(wheel_path, tree)

    monkeypatch.setattr(builder, "install_wheel", install)
    return calls


def test_a_lock_changed_by_one_package_installs_only_that_package(
    wheels: dict[str, LockedFile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_installs(monkeypatch)
    cache = Cache(tmp_path / "cache")
    build(lock_of(wheels["alpha"], wheels["beta"], wheels["shared"]), cache)
    assert len(calls) == 3
    calls.clear()
    build(lock_of(wheels["alpha"], wheels["beta2"], wheels["shared"]), cache)
    assert calls == [wheels["beta2"].filename]


def test_archive_bytes_do_not_depend_on_what_was_cached_before(
    wheels: dict[str, LockedFile], tmp_path: Path
) -> None:
    target = lock_of(wheels["alpha"], wheels["beta2"], wheels["shared"], wheels["shared2"])
    cold = build(target, Cache(tmp_path / "cold"))

    warm_cache = Cache(tmp_path / "warm")
    build(
        lock_of(wheels["alpha"], wheels["beta"], wheels["shared"]), warm_cache
    )  # another lock first
    assert build(target, warm_cache) == cold

    damaged = Cache(tmp_path / "damaged")
    build(target, damaged)
    tree = damaged.installed_dir(wheels["alpha"].sha256)
    (tree / "packages" / "alpha" / "sub" / "x.py").unlink()  # a tree damaged behind envctl's back
    shutil.rmtree(damaged.root / "archives")
    assert build(target, damaged) == cold
    assert (tree / "packages" / "alpha" / "sub" / "x.py").is_file(), (
        "the damaged tree was reinstalled"
    )


def test_two_wheels_with_the_same_file_are_refused_naming_both(
    wheels: dict[str, LockedFile], tmp_path: Path
) -> None:
    clash = wheel(tmp_path / "wheels", "gamma", "1.0", {"beta.py": "G = 1\n"})
    with pytest.raises(EnvctlError) as info:
        build(lock_of(wheels["beta"], clash), Cache(tmp_path / "cache"))
    message = info.value.message
    assert message.startswith(
        f"cannot install {clash.filename}: it overwrites a file of another package"
    )
    assert f"packages/beta.py is also in {wheels['beta'].filename}" in message


def test_a_rebuild_compresses_only_the_changed_package_and_reuses_the_rest(
    wheels: dict[str, LockedFile], tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    build(lock_of(wheels["alpha"], wheels["beta"], wheels["shared"]), cache)
    before = set(cache.segments_dir.glob("*.seg"))
    assert len(before) == 3  # alpha, beta, ns + nsone (each with its dist-info)
    rebuilt = build(lock_of(wheels["alpha"], wheels["beta2"], wheels["shared"]), cache)
    added = set(cache.segments_dir.glob("*.seg")) - before
    assert len(added) == 1, "only beta 2.0 was compressed"
    assert rebuilt == build(
        lock_of(wheels["alpha"], wheels["beta2"], wheels["shared"]), Cache(tmp_path / "cold")
    )


def test_a_damaged_cached_segment_is_compressed_again(
    wheels: dict[str, LockedFile], tmp_path: Path
) -> None:
    lock = lock_of(wheels["alpha"], wheels["beta"])
    cold = build(lock, Cache(tmp_path / "cold"))
    cache = Cache(tmp_path / "cache")
    build(lock, cache)
    for segment in cache.segments_dir.glob("*.seg"):
        data = bytearray(segment.read_bytes())
        data[len(data) // 2] ^= 0xFF  # same size, other bytes
        segment.write_bytes(bytes(data))
    shutil.rmtree(cache.root / "archives")
    assert build(lock, cache) == cold


def test_predicted_top_level_names_are_what_installing_makes(tmp_path: Path) -> None:
    made = wheel(
        tmp_path / "wheels",
        "delta",
        "1.0",
        {
            "delta/__init__.py": "D = 1\n",
            "delta_top.py": "T = 1\n",
            "delta-1.0.data/purelib/delta_extra.py": "E = 1\n",
            "delta-1.0.data/scripts/delta-cli": "#!python\n",
            "stale/__pycache__/x.cpython-311.pyc": "",
        },
    )
    path = tmp_path / "wheels" / made.filename
    _, tree, _ = installed_tree(path, made.sha256, Cache(tmp_path / "cache"))
    assert installed_tops(path) == frozenset(os.listdir(tree / "packages"))
    assert {"delta", "delta_top.py", "delta_extra.py", "delta-1.0.dist-info"} <= installed_tops(
        path
    )


def test_a_wrong_prediction_packs_after_all_installs_with_the_same_bytes(
    wheels: dict[str, LockedFile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = lock_of(wheels["alpha"], wheels["beta"], wheels["shared"], wheels["shared2"])
    expected = build(lock, Cache(tmp_path / "right"))
    monkeypatch.setattr(builder, "installed_tops", lambda wheel: frozenset({"nothing-like-it"}))
    assert build(lock, Cache(tmp_path / "wrong")) == expected


def test_packing_while_installing_gives_the_bytes_of_packing_after(
    wheels: dict[str, LockedFile], tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    files = [wheels[n] for n in ("alpha", "beta2", "shared", "shared2")]
    done = [installed_tree(Path(f.url[len("file://") :]), f.sha256, cache) for f in files]
    after = write_archive([t for _, t, _ in done], tmp_path / "after.tar.gz", progress=False,
                          owners=[sha for sha, _, _ in done])  # fmt: skip
    trees = [
        LazyTree(installed_tops(Path(f.url[len("file://") :])), lambda d=d: (d[0], d[1]))
        for f, d in zip(files, done)
    ]
    lazy = write_archive_lazy(trees, tmp_path / "lazy.tar.gz", progress=False)
    assert lazy.sha256 == after.sha256
    assert (tmp_path / "lazy.tar.gz").read_bytes() == (tmp_path / "after.tar.gz").read_bytes()
