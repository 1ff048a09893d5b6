"""Run pip's resolver with the *target's* PEP 508 marker environment.

pip's ``--python-version``/``--platform`` options select wheels for another interpreter but
still evaluate environment markers with the host's values (``click==8.1.7`` for 3.7 misses
``importlib-metadata; python_version < "3.8"`` on a 3.11 host). pip has no option for this, so
this driver — run as ``python -m envctl.lock.pip_driver TARGET_JSON [OPTIONS] PIP_ARGS...`` in a
subprocess — replaces pip's vendored ``packaging.markers.default_environment`` with the
target's values before pip starts. The installation report's ``environment`` field then shows
the target, which the caller checks to prove the patch took effect.

``pip install`` also checks the ``Requires-Python`` of downloaded metadata against the *host*
interpreter (only ``pip download`` hands ``--python-version`` to its resolver), so a 3.7
target would lose ``numpy 1.21.6`` (``<3.11``) on a 3.11 host; the driver hands it over too.

Driver options (between TARGET_JSON and pip's arguments):

* ``--allow-sdist`` lifts pip's rule that ``--platform`` implies ``--only-binary=:all:``:
  sdists are still only built for their metadata here, never packed unless pure Python.
* ``--native-report PATH``: before pip builds an sdist's metadata, its unpacked sources are
  scanned (``envctl.lock.native.native_sources``). An sdist with compiled code is *never
  built*: pip gets metadata naming only its project and version (no dependencies) and the
  package, version and offending files are appended to PATH (one JSON object per line).
  The resolution goes on, so a requirement conflict is reported as the conflict it is; the
  caller blames a native sdist only when the finished resolution still contains it. An sdist
  the scan lets through is recorded too (``"sources": []``): the caller then knows it is
  pure (``"pure": true``) without downloading it again.
* ``--buildable-native`` (before ``--native-report``): only compiled code envctl cannot
  build counts (``envctl.lock.native.unbuildable_sources``); C/C++/Cython sdists resolve.
* ``--metadata-cache DIR`` (before ``--native-report``): the metadata pip builds from an
  sdist is kept in DIR by the sdist's URL and reused instead of built again, so the second
  resolution after a native sdist (``--prefer-binary``) does not rebuild jieba's metadata.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Optional

NATIVE_REPORT = "--native-report"
BUILDABLE_NATIVE = "--buildable-native"
METADATA_CACHE = "--metadata-cache"


def _bare_metadata(parent: Path, name: str, version: str) -> str:
    """A ``.dist-info`` with only Name and Version: what pip may know of an unbuilt sdist."""
    directory = parent / "unbuilt" / f"{name}-{version}.dist-info"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    return str(directory)


def _reusing(prepare: Any, cache: Optional[Path]) -> Any:
    """``prepare_distribution_metadata`` that keeps what it builds in ``cache`` (by the sdist's
    URL) and hands it back instead of building the same sdist's metadata again.
    """
    if cache is None:
        return prepare

    def reused(self: Any, *args: Any, **kwargs: Any) -> None:
        req = self.req
        if req.link is None:
            prepare(self, *args, **kwargs)
            return
        slot = cache / hashlib.sha256(req.link.url_without_fragment.encode()).hexdigest()
        kept = sorted(slot.iterdir()) if slot.is_dir() else []
        if len(kept) == 1:
            req.metadata_directory = str(kept[0])
            if not req.name:
                req._set_requirement()
            return
        prepare(self, *args, **kwargs)
        if req.metadata_directory:
            built = Path(req.metadata_directory)
            shutil.copytree(built, slot / built.name, dirs_exist_ok=True)

    return reused


def _refuse_native_sdists(
    report: Path, buildable: bool = False, metadata_cache: Optional[Path] = None
) -> None:
    """Scan every sdist pip is about to build metadata for; never build one with compiled code.

    With ``buildable`` only code that envctl cannot compile counts; with ``metadata_cache``
    the metadata of the pure ones is built once across runs (``_reusing``).
    """
    from packaging.utils import canonicalize_name, parse_sdist_filename
    from pip._internal.distributions.sdist import SourceDistribution
    from pip._internal.exceptions import InstallationError

    from envctl.lock.native import native_sources, unbuildable_sources

    scan = unbuildable_sources if buildable else native_sources
    prepare = _reusing(SourceDistribution.prepare_distribution_metadata, metadata_cache)

    def checked(self: SourceDistribution, *args: Any, **kwargs: Any) -> None:
        req, source = self.req, Path(self.req.source_dir or "")
        members = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
        found = scan(members)
        if req.link is None:
            prepare(self, *args, **kwargs)
            return
        filename = req.link.filename
        try:
            name, version = parse_sdist_filename(filename)
        except ValueError:
            if not found:
                prepare(self, *args, **kwargs)
                return
            raise InstallationError(
                f"envctl: {filename} has compiled code ({', '.join(found[:3])}); not building it"
            ) from None
        data = {
            "name": canonicalize_name(name),
            "version": str(version),
            "filename": filename,
            "sources": found[:5],
            "pure": not (found if scan is native_sources else native_sources(members)),
        }
        with report.open("a", encoding="utf-8") as out:
            out.write(json.dumps(data) + "\n")
        if found:
            req.metadata_directory = _bare_metadata(report.parent, name, str(version))
            if not req.name:
                req._set_requirement()
            return
        prepare(self, *args, **kwargs)

    SourceDistribution.prepare_distribution_metadata = checked  # type: ignore[method-assign]


def _resolve_for_target_python() -> None:
    """Make ``pip install``'s resolver check Requires-Python against ``--python-version``."""
    from pip._internal.cli.req_command import RequirementCommand

    original = RequirementCommand.make_resolver.__func__  # type: ignore[attr-defined]

    def make_resolver(cls: type, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("py_version_info") is None and "options" in kwargs:
            kwargs["py_version_info"] = getattr(kwargs["options"], "python_version", None)
        return original(cls, *args, **kwargs)

    RequirementCommand.make_resolver = classmethod(make_resolver)  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    target = json.loads(argv[0])
    args = argv[1:]
    from pip._vendor.packaging import markers

    def target_environment() -> Any:  # pip's vendored packaging may type it as a TypedDict
        return dict(target)

    # The ignores below depend on the pip version's annotations, hence ``unused-ignore``.
    markers.default_environment = target_environment  # type: ignore[assignment, unused-ignore]
    from pip._internal.models import installation_report

    if hasattr(installation_report, "default_environment"):
        installation_report.default_environment = markers.default_environment  # type: ignore[attr-defined, unused-ignore]
    _resolve_for_target_python()
    buildable, metadata_cache = False, None
    while args and args[0] in ("--allow-sdist", BUILDABLE_NATIVE, METADATA_CACHE, NATIVE_REPORT):
        if args[0] == BUILDABLE_NATIVE:
            buildable, args = True, args[1:]
        elif args[0] == METADATA_CACHE:
            metadata_cache, args = Path(args[1]), args[2:]
        elif args[0] == "--allow-sdist":
            args = args[1:]
            from pip._internal.cli import cmdoptions

            cmdoptions.check_dist_restriction = lambda options, check_target=False: None  # type: ignore[assignment, unused-ignore]
        else:
            _refuse_native_sdists(Path(args[1]), buildable, metadata_cache)
            args = args[2:]
    from pip._internal.cli.main import main as pip_main

    return pip_main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
