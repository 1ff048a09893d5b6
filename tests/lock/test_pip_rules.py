"""The default resolver: uv's answer verified against pip's rules, pip where it cannot be.

``verify`` is driven with hand-made answers against a real local index (each way uv's answer
can differ from pip's must be refused); the CLI tests run uv and the verification for real.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from envctl.lock.isolation import find_uv
from envctl.lock.lockfile import read_lock
from envctl.lock.pip_rules import IndexClient, Unverified, verify
from envctl.lock.target_python import TargetPython
from envctl.spec.loader import Environment
from envctl.testing.index import LocalIndex
from envctl.testing.wheels import STANDARD_DISTS, Dist

pytestmark = pytest.mark.skipif(find_uv() is None, reason="uv not installed")

# tinyplat 2.0 publishes a macOS wheel and an sdist: compiled code, no wheel for manylinux2014.
PLATFORM_DISTS = (
    Dist("tinyplat", "1.0", {"tinyplat/__init__.py": ""}),
    Dist(
        "tinyplat",
        "2.0",
        {"tinyplat/__init__.py": ""},
        tags=("cp311-cp311-macosx_11_0_arm64",),
        sdist=True,
    ),
)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("rules-index")
    with LocalIndex.create(root, (*STANDARD_DISTS, *PLATFORM_DISTS)) as served:
        yield served


def _env(index: LocalIndex, python: str = "3.11", **fields: object) -> Environment:
    return Environment(name="demo", python=python, index_url=index.url, **fields)  # type: ignore[arg-type]


def _file(index: LocalIndex, filename: str) -> tuple[str, str]:
    return filename, hashlib.sha256(index.file(filename).read_bytes()).hexdigest()


def _check(
    index: LocalIndex,
    requirements: list[str],
    chosen: dict[str, tuple[str, tuple[tuple[str, str], ...]]],
    python: str = "3.11",
    **fields: object,
):
    env = _env(index, python, **fields)
    client = IndexClient([index.url])
    try:
        return verify(
            env, TargetPython.of(env.python, env.platform), requirements, (), chosen, client
        )
    finally:
        client.close()


def _wheel(index: LocalIndex, name: str, version: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return version, (_file(index, f"{name}-{version}-py3-none-any.whl"),)


def test_pips_answer_is_confirmed(index: LocalIndex) -> None:
    verified = _check(
        index,
        ["tinychain"],
        {
            "tinychain": _wheel(index, "tinychain", "1.0"),
            "tinypure": _wheel(index, "tinypure", "1.0"),
        },
    )
    assert verified.newer_natives == () and verified.pure_sdists == frozenset()


def test_a_file_whose_hash_differs_from_the_index_is_refused(index: LocalIndex) -> None:
    name, _ = _file(index, "tinypure-1.0-py3-none-any.whl")
    with pytest.raises(Unverified, match="not on the index with the sha256"):
        _check(index, ["tinypure"], {"tinypure": ("1.0", ((name, "0" * 64),))})


def test_a_requires_python_upper_bound_is_enforced(index: LocalIndex) -> None:
    with pytest.raises(Unverified, match=re.escape("tinylegacy 2.0 requires Python >=3.7,<3.11")):
        _check(index, ["tinylegacy"], {"tinylegacy": _wheel(index, "tinylegacy", "2.0")})


def test_a_missing_dependency_is_refused(index: LocalIndex) -> None:
    with pytest.raises(Unverified, match="tinypure is required but uv did not lock it"):
        _check(index, ["tinychain"], {"tinychain": _wheel(index, "tinychain", "1.0")})


def test_a_dependency_whose_marker_is_false_on_the_target_is_refused(index: LocalIndex) -> None:
    chosen = {
        "tinypure": _wheel(index, "tinypure", "1.0"),
        "tinydep": _wheel(index, "tinydep", "1.0"),
    }
    with pytest.raises(Unverified, match="uv locked tinydep, which nothing requires"):
        _check(index, ["tinypure"], chosen)  # tinydep is for python_version < "3.8" only
    assert _check(index, ["tinypure"], chosen, python="3.7").newer_natives == ()


def test_an_older_version_when_a_newer_one_has_a_usable_wheel_is_refused(index: LocalIndex) -> None:
    with pytest.raises(
        Unverified, match=re.escape("tinylegacy 2.0 has a wheel for the target and fits")
    ):
        _check(index, ["tinylegacy"], {"tinylegacy": _wheel(index, "tinylegacy", "1.0")}, "3.7")


def test_a_version_outside_the_requirement_is_refused(index: LocalIndex) -> None:
    with pytest.raises(Unverified, match="does not satisfy"):
        _check(index, ["tinylegacy<1.0"], {"tinylegacy": _wheel(index, "tinylegacy", "1.0")})


def test_a_newer_pure_sdist_means_pip_answers_differently(index: LocalIndex) -> None:
    chosen = {"tinyfresh": _wheel(index, "tinyfresh", "1.0")}
    with pytest.raises(Unverified, match=re.escape("tinyfresh 2.0 is a newer sdist pip would use")):
        _check(index, ["tinyfresh"], chosen)
    assert _check(index, ["tinyfresh"], chosen, prefer_binary=True).newer_natives == ()
    assert _check(index, ["tinyfresh"], chosen, allow_sdist=False).newer_natives == ()


def test_a_newer_sdist_only_version_is_scanned_like_the_pip_driver_does(
    index: LocalIndex,
) -> None:
    chosen = {"tinyaccel": _wheel(index, "tinyaccel", "1.0")}
    (native,) = _check(index, ["tinyaccel"], chosen).newer_natives
    assert (native.name, native.version, native.evidence) == ("tinyaccel", "2.0", ("src/_accel.c",))
    with pytest.raises(Unverified, match=re.escape("tinyaccel 2.0 is a newer sdist pip would")):
        _check(index, ["tinyaccel"], chosen, native_builds="prefer-newest")


def test_a_newer_version_with_platform_wheels_is_native_unless_pip_would_compile_it(
    index: LocalIndex,
) -> None:
    chosen = {"tinyplat": _wheel(index, "tinyplat", "1.0")}
    (native,) = _check(index, ["tinyplat"], chosen).newer_natives
    assert (native.name, native.version) == ("tinyplat", "2.0")
    with pytest.raises(Unverified, match="newer sdist pip would use or compile"):
        _check(index, ["tinyplat"], chosen, native_builds="prefer-newest")


def test_a_locked_sdist_is_scanned(index: LocalIndex) -> None:
    pure = _check(
        index, ["tinysdist"], {"tinysdist": ("1.0", (_file(index, "tinysdist-1.0.tar.gz"),))}
    )
    assert pure.pure_sdists == {"tinysdist-1.0.tar.gz"}
    with pytest.raises(Unverified, match="has compiled code"):
        _check(index, ["tinycext"], {"tinycext": ("1.0", (_file(index, "tinycext-1.0.tar.gz"),))})
    with pytest.raises(Unverified, match="uv locked no file the target can use"):
        _check(
            index,
            ["tinysdist"],
            {"tinysdist": ("1.0", (_file(index, "tinysdist-1.0.tar.gz"),))},
            allow_sdist=False,
        )


def test_direct_url_requirements_are_left_to_pip(index: LocalIndex) -> None:
    with pytest.raises(Unverified, match="direct URL"):
        _check(index, ["tinypure @ https://example.invalid/tinypure-1.0-py3-none-any.whl"], {})


# -- through the CLI: uv runs, its answer is verified, pip only where needed ---------------------


def _locked(project, name: str = "demo"):
    return read_lock(project.lock_path(name))


def test_default_lock_takes_uvs_verified_answer(project) -> None:
    project.spec("demo", "3.11", ["tinychain tinynative"])
    assert project.run("lock", "demo") == 0
    lock = _locked(project)
    assert lock.resolver == "uv"
    assert {p.name for p in lock.packages} == {"tinychain", "tinypure", "tinynative"}


def test_default_lock_falls_back_to_pip_when_pip_answers_differently(project) -> None:
    project.spec("demo", "3.11", ["tinyfresh"])
    assert project.run("lock", "demo") == 0
    lock = _locked(project)
    assert lock.resolver == "pip" and lock.package("tinyfresh").version == "2.0"


def test_default_lock_with_a_pure_sdist_only_package_stays_with_uv(project, monkeypatch) -> None:
    import envctl.build.sdist

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the resolver already scanned the sdist; no second download")

    monkeypatch.setattr(envctl.build.sdist, "fetch", no_download)
    project.spec("demo", "3.11", ["tinysdist tinypure"])
    assert project.run("lock", "demo") == 0
    lock = _locked(project)
    assert lock.resolver == "uv" and lock.package("tinysdist").kind == "sdist"


def test_pip_reports_the_sdists_it_scanned_so_lock_does_not_download_them_again(
    project, monkeypatch
) -> None:
    import envctl.build.sdist

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pip driver already scanned the sdist; no second download")

    monkeypatch.setattr(envctl.build.sdist, "fetch", no_download)
    project.spec("demo", "3.11", ["tinysdist"])
    assert project.run("lock", "demo", "--resolver", "pip") == 0
    assert _locked(project).package("tinysdist").kind == "sdist"


def test_a_newer_native_release_warns_as_pip_does(tmp_path: Path, capsys) -> None:
    from envctl.build.builder import build_requirements
    from envctl.build.cache import Cache

    with LocalIndex.create(tmp_path / "index", PLATFORM_DISTS) as served:
        lock, _ = build_requirements(
            ["tinyplat"], python="3.11", index_url=served.url, cache=Cache(tmp_path / "cache")
        )
    assert lock.resolver == "uv" and lock.package("tinyplat").version == "1.0"
    err = " ".join(capsys.readouterr().err.split())
    assert (
        "tinyplat 2.0 ships only an sdist with native code for cp311-manylinux2014_x86_64; "
        "locked 1.0, the newest with a wheel." in err
    )


def test_anything_unexpected_while_verifying_means_pip_resolves(project, monkeypatch) -> None:
    def broken(self: IndexClient, file: object) -> None:
        raise ValueError("odd metadata")

    monkeypatch.setattr(IndexClient, "_metadata", broken)
    project.spec("demo", "3.11", ["tinychain"])
    assert project.run("-v", "lock", "demo") == 0
    lock = _locked(project)
    assert lock.resolver == "pip" and {p.name for p in lock.packages} == {"tinychain", "tinypure"}


def test_verification_reads_an_index_that_needs_credentials(tmp_path: Path) -> None:
    from envctl.lock.resolve import resolve_environment

    dists = [d for d in STANDARD_DISTS if d.name in ("tinychain", "tinypure", "tinydep")]
    with LocalIndex.create(tmp_path / "index", dists, auth=("reader", "s3cret")) as served:
        url = served.url.replace("http://", "http://reader:s3cret@")
        env = Environment(name="demo", python="3.11", requirements=("tinychain",), index_url=url)
        lock = resolve_environment(env)
    assert lock.resolver == "uv" and {p.name for p in lock.packages} == {"tinychain", "tinypure"}


def test_a_newer_native_sdist_only_release_is_scanned_not_resolved_twice(project, capsys) -> None:
    project.spec("demo", "3.11", ["tinyaccel tinypure"])
    assert project.run("lock", "demo") == 0
    lock = _locked(project)
    assert lock.resolver == "uv" and lock.package("tinyaccel").version == "1.0"
    assert "tinyaccel 2.0 ships only an sdist with native code" in capsys.readouterr().err


def test_wheel_metadata_is_read_through_range_requests_when_the_server_honours_them(
    tmp_path: Path,
) -> None:
    """No PEP 658 file: only the zip's tail and METADATA are fetched, not the whole wheel."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from envctl.lock.pip_rules import IndexFile
    from envctl.testing.wheels import write_dist

    (wheel,) = write_dist(next(d for d in STANDARD_DISTS if d.name == "tinybig"), tmp_path)
    data = wheel.read_bytes()
    served: list[int] = []

    class Ranges(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            first, _, last = self.headers["Range"].removeprefix("bytes=").partition("-")
            start = len(data) - int(last) if not first else int(first)
            end = len(data) - 1 if not first or not last else min(int(last), len(data) - 1)
            body = data[start : end + 1]
            served.append(len(body))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ranges)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = IndexClient([f"http://127.0.0.1:{server.server_port}/simple"])
    try:
        url = f"http://127.0.0.1:{server.server_port}/{wheel.name}"
        file = IndexFile(wheel.name, url, None, None, False, None)
        message = client.metadata(file).result()
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    assert (message["Name"], message["Version"]) == ("tinybig", "1.0")
    assert served and sum(served) < len(data) / 2


def test_the_sdist_the_lock_will_hold_is_announced_while_resolving(tmp_path: Path) -> None:
    from envctl.lock.lockfile import LockedFile
    from envctl.lock.resolve import resolve_environment

    announced: list[LockedFile] = []
    with LocalIndex.create(tmp_path / "index") as served:
        env = Environment(
            name="demo", python="3.11", requirements=("tinysdist", "tinypure"), index_url=served.url
        )
        lock = resolve_environment(env, early_sdists=announced.append)
    (file,) = announced
    assert file == lock.package("tinysdist") and file.kind == "sdist"
    assert lock.pure_sdists == {file.sha256}


def test_a_pre_release_nothing_asked_for_is_refused(tmp_path: Path) -> None:
    dists = (
        Dist("tinyrc", "1.0", {"tinyrc/__init__.py": ""}),
        Dist("tinyrc", "2.0rc1", {"tinyrc/__init__.py": ""}),
    )
    with LocalIndex.create(tmp_path / "index", dists) as served:
        chosen = {"tinyrc": _wheel(served, "tinyrc", "2.0rc1")}
        with pytest.raises(Unverified, match="is a pre-release nothing asked for"):
            _check(served, ["tinyrc"], chosen)
        assert _check(served, ["tinyrc"], chosen, pre_release=True).newer_natives == ()
        assert _check(served, ["tinyrc>=2.0rc1"], chosen).newer_natives == ()
        with pytest.raises(Unverified, match=re.escape("tinyrc 2.0rc1 has a wheel")):
            _check(
                served, ["tinyrc"], {"tinyrc": _wheel(served, "tinyrc", "1.0")}, pre_release=True
            )


def test_a_requirement_whose_marker_is_false_is_not_built_ahead(tmp_path: Path) -> None:
    from envctl.lock.pip_rules import sdist_only

    with LocalIndex.create(tmp_path / "index") as served:
        env = _env(served)
        client = IndexClient([served.url])
        announced: list[object] = []
        try:
            target = TargetPython.of(env.python, env.platform)
            only = sdist_only(
                env, target, ['tinysdist; python_version < "3.8"'], client, announced.append
            )
            assert only == [] and announced == []
            assert sdist_only(env, target, ["tinysdist"], client, announced.append) == ["tinysdist"]
            assert len(announced) == 1
        finally:
            client.close()


def test_a_yanked_file_is_refused_and_a_yanked_newer_release_ignored(tmp_path: Path) -> None:
    dists = (
        Dist("tinyyank", "1.0", {"tinyyank/__init__.py": ""}),
        Dist("tinyyank", "2.0", {"tinyyank/__init__.py": ""}),
    )
    with LocalIndex.create(tmp_path / "index", dists) as served:
        page = served.root / "simple" / "tinyyank" / "index.html"
        wheel = "tinyyank-2.0-py3-none-any.whl"
        page.write_text(page.read_text().replace(f">{wheel}<", f' data-yanked="">{wheel}<'))
        with pytest.raises(Unverified, match=re.escape(f"{wheel} is yanked")):
            _check(served, ["tinyyank"], {"tinyyank": _wheel(served, "tinyyank", "2.0")})
        assert _check(served, ["tinyyank"], {"tinyyank": _wheel(served, "tinyyank", "1.0")})
