"""Run pip's resolver with the *target's* PEP 508 marker environment.

pip's ``--python-version``/``--platform`` options select wheels for another interpreter but
still evaluate environment markers with the host's values (``click==8.1.7`` for 3.7 misses
``importlib-metadata; python_version < "3.8"`` on a 3.11 host). pip has no option for this, so
this driver — run as ``python -m envctl.pip_driver TARGET_JSON PIP_ARGS...`` in a subprocess —
replaces pip's vendored ``packaging.markers.default_environment`` with the target's values
before pip starts. The installation report's ``environment`` field then shows the target,
which the caller checks to prove the patch took effect.

``--allow-sdist`` (first after TARGET_JSON) lifts pip's rule that ``--platform`` implies
``--only-binary=:all:``: sdists are still only built for their metadata here, and the
builder refuses to pack any that is not pure Python.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    target = json.loads(argv[0])
    args = argv[1:]
    from pip._vendor.packaging import markers

    markers.default_environment = lambda: dict(target)  # type: ignore[assignment]
    from pip._internal.models import installation_report

    if hasattr(installation_report, "default_environment"):
        installation_report.default_environment = markers.default_environment  # type: ignore[attr-defined]
    if args and args[0] == "--allow-sdist":
        args = args[1:]
        from pip._internal.cli import cmdoptions

        cmdoptions.check_dist_restriction = lambda options, check_target=False: None  # type: ignore[assignment]
    from pip._internal.cli.main import main as pip_main

    return pip_main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
