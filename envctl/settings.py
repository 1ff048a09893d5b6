"""Every environment variable envctl reads: one typed field each, with its parser, default and help.

Why one module: each variable is parsed, defaulted and documented in exactly one place, and
the README's table is generated from these fields (``python -m envctl.settings --markdown``;
a test fails when the two differ). Values are read when asked for, never at import, so tests
and long-lived processes see the environment as it is now. Duration values (``30s``, ``5m``,
``2h``, ``7d``) share their parser with the duration options of the command line.

Only two kinds of reads stay elsewhere: the ``${VAR}`` references a spec writes into an index
URL (``spec/indexes.py``; the spec names those variables, not envctl) and the test-only
``ENVCTL_TEST_*`` hooks in ``crashpoints.py``, which are not settings a user configures.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Generic, Optional, Sequence, TypeVar

from envctl.errors import EnvctlError

T = TypeVar("T")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str, option: str) -> float:
    """Seconds for ``text`` (``90``, ``90s``, ``5m``, ``2h``, ``7d``); errors name ``option``."""
    match = _DURATION.match(text)
    if not match:
        raise EnvctlError(f"{option} {text!r} is not a duration such as 0s, 90s, 5m, 2h or 7d")
    return float(match[1]) * _UNITS[match[2] or "s"]


# -- parsers: (raw value, variable name) -> typed value; errors are one line naming the variable --


def _text(raw: str, name: str) -> str:
    return raw.strip()


def _verbatim(raw: str, name: str) -> str:
    """Secrets are used exactly as given."""
    return raw


def _path(raw: str, name: str) -> Path:
    return Path(raw.strip())


def _words(raw: str, name: str) -> tuple[str, ...]:
    return tuple(raw.split())


def _positive_duration(raw: str, name: str) -> float:
    seconds = parse_duration(raw, name)
    if seconds <= 0:
        raise EnvctlError(f"{name} must be longer than 0s, not {raw.strip()!r}")
    return seconds


def _megabytes(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise EnvctlError(f"{name}={raw!r} is not a number of megabytes") from None
    if value <= 0:
        raise EnvctlError(f"{name} must be positive, got {raw!r}")
    return value


def _wait_scale(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise EnvctlError(f"{name} must be a number between 0 and 100, not {raw.strip()!r}")
    return value


def _adhoc_mode(raw: str, name: str) -> str:
    mode = raw.strip().lower()
    if mode not in ("service", "client"):
        raise EnvctlError(f"{name}={raw.strip()!r} is not 'service' or 'client'")
    return mode


def _epoch(raw: str, name: str) -> int:
    """Lenient, as the reproducible-builds convention is: garbage means the epoch."""
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: ``get()`` parses its current value, or returns ``default``.

    An unset or blank variable counts as unset. ``runtime`` marks the variables the UDF
    runtime's answers depend on (a change must not be served from its in-process memo);
    ``secret`` ones are redacted from every message and never shown in docs or memos.
    """

    name: str
    parse: Callable[[str, str], T]
    default: T
    help: str
    default_doc: str = ""
    runtime: bool = False
    secret: bool = False

    def raw(self) -> Optional[str]:
        """The variable's value as set, or None when unset or blank."""
        value = os.environ.get(self.name)
        return value if value is not None and value.strip() else None

    def get(self) -> T:
        """The parsed value now (an EnvctlError naming the variable when it is malformed)."""
        raw = self.raw()
        return self.default if raw is None else self.parse(raw, self.name)


ALL: list[Setting[Any]] = []


def _setting(
    name: str,
    parse: Callable[[str, str], T],
    default: T,
    help: str,
    *,
    default_doc: str = "",
    runtime: bool = False,
    secret: bool = False,
) -> Setting[T]:
    setting = Setting(name, parse, default, help, default_doc, runtime, secret)
    ALL.append(setting)
    return setting


# -- where things are ---------------------------------------------------------------------------

ROOT: Setting[Optional[Path]] = _setting(
    "ENVCTL_ROOT",
    _path,
    None,
    "Repository root (`--root`).",
    default_doc="nearest directory holding `environments/`",
    runtime=True,
)
CACHE_DIR: Setting[Optional[Path]] = _setting(
    "ENVCTL_CACHE_DIR",
    _path,
    None,
    "Content-addressed cache of downloads, builds and lookups.",
    default_doc="`$XDG_CACHE_HOME/envctl`",
    runtime=True,
)
XDG_CACHE_HOME: Setting[Optional[Path]] = _setting(
    "XDG_CACHE_HOME",
    _path,
    None,
    "Base of the default cache directory.",
    default_doc="`~/.cache`",
    runtime=True,
)
TARGET: Setting[Optional[str]] = _setting(
    "ENVCTL_TARGET",
    _text,
    None,
    "Deployment target (`--target`): a name from `envctl.toml`, or a URL: `local`, "
    "`local:///path`, `odps://<project>?endpoint=<url>`.",
    default_doc=(
        "the `default = true` target of `envctl.toml`, else `local` "
        "(the repository's `.envctl/store`)"
    ),
    runtime=True,
)

# -- locking and building -----------------------------------------------------------------------

RESOLVER: Setting[Optional[str]] = _setting(
    "ENVCTL_RESOLVER",
    _text,
    None,
    "Resolver for `envctl lock` (`--resolver`): `pip` or `uv`.",
    default_doc="uv, verified against pip's rules (pip where it cannot be; pip without uv)",
)
WARN_SIZE_MB: Setting[float] = _setting(
    "ENVCTL_WARN_SIZE_MB",
    _megabytes,
    500.0,
    "Archive size (MB) above which a build warns.",
    default_doc="500",
)
MAX_SIZE_MB: Setting[float] = _setting(
    "ENVCTL_MAX_SIZE_MB",
    _megabytes,
    2048.0,
    "Archive size (MB) above which a build fails (MaxCompute's resource limit).",
    default_doc="2048",
)
MAX_UNPACKED_MB: Setting[float] = _setting(
    "ENVCTL_MAX_UNPACKED_MB",
    _megabytes,
    4096.0,
    "Unpacked size (MB) above which a build refuses a wheel and `exec` an archive, checked "
    "against declared sizes before anything is written.",
    default_doc="4096",
)
MAX_UNPACK_RATIO: Setting[float] = _setting(
    "ENVCTL_MAX_UNPACK_RATIO",
    _megabytes,
    100.0,
    "Largest unpacked/packed size ratio accepted for a wheel or archive unpacking to more than "
    "64 MiB (a decompression bomb otherwise).",
    default_doc="100",
)
EXEC_CACHE_MB: Setting[float] = _setting(
    "ENVCTL_EXEC_CACHE_MB",
    _megabytes,
    4096.0,
    "Size (MB) of `<cache>/exec` (unpacked archives, downloads, venvs) above which `envctl exec` "
    "deletes the least recently used entries not used in the last hour.",
    default_doc="4096",
)
PYTHON_X_Y: Setting[Optional[Path]] = _setting(
    "ENVCTL_PYTHON_X_Y",
    _path,
    None,
    "Interpreter for CPython X.Y in `envctl verify` and `envctl exec` (e.g. `ENVCTL_PYTHON_3_7`).",
    default_doc="`pythonX.Y` on `PATH`, then pyenv",
)
PYENV_ROOT: Setting[Optional[Path]] = _setting(
    "PYENV_ROOT",
    _path,
    None,
    "Where pyenv installs interpreters (searched for CPython X.Y).",
    default_doc="`~/.pyenv`",
)
ZIG_CACHE: Setting[Optional[Path]] = _setting(
    "ENVCTL_ZIG_CACHE",
    _path,
    None,
    "Zig's cache of libc stubs and libc++ built for the target, used by native sdist builds "
    "(worth keeping between CI runs: a cold one costs 1-2 minutes).",
    default_doc="`$XDG_CACHE_HOME/envctl/zig`",
)
SOURCE_DATE_EPOCH: Setting[int] = _setting(
    "SOURCE_DATE_EPOCH",
    _epoch,
    0,
    "Timestamp written into archives (reproducible builds).",
    default_doc="0",
)

# -- deploying ----------------------------------------------------------------------------------

LEASE_TTL: Setting[float] = _setting(
    "ENVCTL_LEASE_TTL",
    _positive_duration,
    3600.0,
    "Lifetime of the deployment lease between renewals (a duration: `90s`, `2h`).",
    default_doc="`1h`",
)
RETRY_WAIT_SCALE: Setting[float] = _setting(
    "ENVCTL_RETRY_WAIT_SCALE",
    _wait_scale,
    1.0,
    "Multiplies every backoff wait between retries of target calls (0 to 100).",
    default_doc="1",
)
GITHUB_SHA: Setting[Optional[str]] = _setting(
    "GITHUB_SHA",
    _text,
    None,
    "Commit recorded with an applied version.",
    default_doc="`git rev-parse HEAD`",
)

# -- the UDF runtime ----------------------------------------------------------------------------

PYTHON: Setting[str] = _setting(
    "ENVCTL_PYTHON",
    _text,
    "3.11",
    "Target CPython of ad-hoc builds without a named environment.",
    default_doc="3.11",
    runtime=True,
)
PLATFORM: Setting[Optional[str]] = _setting(
    "ENVCTL_PLATFORM",
    _text,
    None,
    "Target platform tag of ad-hoc builds.",
    default_doc="`manylinux2014_x86_64`",
    runtime=True,
)
INDEX_URL: Setting[Optional[str]] = _setting(
    "ENVCTL_INDEX_URL",
    _text,
    None,
    "Package index of ad-hoc builds without a named environment.",
    default_doc="`https://pypi.org/simple`",
    runtime=True,
)
EXTRA_INDEX_URLS: Setting[tuple[str, ...]] = _setting(
    "ENVCTL_EXTRA_INDEX_URLS",
    _words,
    (),
    "Extra indexes of ad-hoc builds (whitespace-separated).",
    runtime=True,
)
ADHOC_TTL: Setting[float] = _setting(
    "ENVCTL_ADHOC_TTL",
    parse_duration,
    24 * 3600.0,
    "Lifetime of a temporary ad-hoc archive before `envctl gc` may delete it.",
    default_doc="`1d`",
    runtime=True,
)
RESOLVE_TTL: Setting[float] = _setting(
    "ENVCTL_RESOLVE_TTL",
    parse_duration,
    60.0,
    "How long a decorator's lookup is cached in process and on disk (`0` disables).",
    default_doc="`60s`",
    runtime=True,
)
ADHOC_MODE: Setting[str] = _setting(
    "ENVCTL_ADHOC",
    _adhoc_mode,
    "service",
    "Who packs requirements without a deployed environment: `service` (MaxFrame, server-side, at "
    "submission) or `client` (envctl, on this machine, in the background).",
    default_doc="`service`",
    runtime=True,
)
PIN_GRACE: Setting[float] = _setting(
    "ENVCTL_PIN_GRACE",
    parse_duration,
    7 * 24 * 3600.0,
    "How long `envctl gc` keeps a superseded `force_rebuild` archive "
    "(the newest per request stays).",
    default_doc="`7d`",
)
EXEC: Setting[Optional[str]] = _setting(
    "ENVCTL_EXEC",
    _text,
    None,
    "Set by `envctl exec` to the environment it runs: decorators then return functions unchanged.",
    runtime=True,
)

# -- terminal and credentials -------------------------------------------------------------------

NO_COLOR: Setting[Optional[str]] = _setting(
    "NO_COLOR",
    _text,
    None,
    "Any value turns colour off (`--no-color`).",
)
ACCESS_KEY_ID: Setting[Optional[str]] = _setting(
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    _verbatim,
    None,
    "Access key id for `odps://` targets.",
    secret=True,
)
ACCESS_KEY_SECRET: Setting[Optional[str]] = _setting(
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    _verbatim,
    None,
    "Access key secret for `odps://` targets.",
    secret=True,
)
SECURITY_TOKEN: Setting[Optional[str]] = _setting(
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    lambda raw, name: raw.strip(),
    None,
    "STS token, with an STS (temporary) key pair.",
    secret=True,
)


# -- the emulator and the contract suite --------------------------------------------------------

EMULATOR_TOKEN: Setting[Optional[str]] = _setting(
    "ENVCTL_EMULATOR_TOKEN",
    _verbatim,
    None,
    "Control token of `envctl emulator` (`X-Envctl-Emulator-Token` on `/_emulator/*`).",
    default_doc="random per run, printed at start",
    secret=True,
)
CONTRACT_ENDPOINT: Setting[Optional[str]] = _setting(
    "ENVCTL_CONTRACT_ENDPOINT",
    _text,
    None,
    "Run the `contract` tests against this MaxCompute endpoint instead of the emulator.",
    default_doc="the bundled emulator",
)
CONTRACT_PROJECT: Setting[Optional[str]] = _setting(
    "ENVCTL_CONTRACT_PROJECT",
    _text,
    None,
    "The project of `ENVCTL_CONTRACT_ENDPOINT` (every object created there is deleted).",
)


def interpreter_override(minor: str) -> Optional[Path]:
    """``ENVCTL_PYTHON_3_7`` and friends: the interpreter to use for CPython ``minor``."""
    return replace(PYTHON_X_Y, name=f"ENVCTL_PYTHON_{minor.replace('.', '_')}").get()


_RENAMED_SECRETS: list[Setting[Any]] = []


def renamed_secret(setting: Setting[T], name: str) -> Setting[T]:
    """``setting`` read from the variable ``name`` instead (a named target's own credential
    variable, from ``envctl.toml``); its value is redacted and kept from children like the
    original's from then on.
    """
    renamed = replace(setting, name=name)
    if renamed.secret and all(s.name != name for s in _RENAMED_SECRETS):
        _RENAMED_SECRETS.append(renamed)
    return renamed


def secrets() -> list[Setting[Any]]:
    """The credential variables, whose values are redacted from every message."""
    return [s for s in ALL if s.secret] + _RENAMED_SECRETS


def runtime_snapshot() -> tuple[object, ...]:
    """The raw values the UDF runtime's answers depend on (part of its in-process memo key).

    Equal snapshots mean equal settings. Hot: every decorated function pays for it, so it reads
    CPython's raw environment mapping (no per-variable decoding) where there is one.
    """
    data = getattr(os.environ, "_data", None)
    if data is None:
        return tuple(map(os.environ.get, _RUNTIME_NAMES))
    if not _runtime_keys:
        _runtime_keys.extend(map(os.environ.encodekey, _RUNTIME_NAMES))
    return tuple(map(data.get, _runtime_keys))


_RUNTIME_NAMES = tuple(s.name for s in ALL if s.runtime)
_runtime_keys: list[Any] = []


def markdown_table(settings: Sequence[Setting[Any]] = tuple(ALL)) -> str:
    """The README's table of environment variables, generated from the fields above."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in settings:
        default = s.default_doc or "unset"
        rows.append(f"| `{s.name}` | {default} | {s.help.replace('|', chr(92) + '|')} |")
    return "\n".join(rows) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m envctl.settings --markdown``: print the README's table."""
    parser = argparse.ArgumentParser(prog="python -m envctl.settings", description=main.__doc__)
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table())
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
