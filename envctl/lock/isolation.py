"""Environments for the pip/uv subprocesses envctl runs, isolated from the user's pip setup.

A developer's ``pip.conf``, ``PIP_FIND_LINKS``, ``PIP_CONSTRAINT`` or ``UV_INDEX_URL`` would
silently change what a lock contains, so the spec's index settings are the only ones used:
config files are disabled and ``PIP_*``/``UV_*`` variables dropped, except the few that only
affect *how* the network is reached (certificates, proxies, timeouts, cache location).

These children run code from the index: an sdist's build backend runs at ``lock`` time
(metadata) and at ``build`` time. So their environment is also scrubbed of cloud credentials
and other secrets, and index credentials never appear on a command line (any local user can
read ``/proc/<pid>/cmdline``): ``index_access`` names the indexes without userinfo and hands
the credentials over in a 0600 netrc file, which pip (and the pip it starts for build
requirements) and uv both read.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Mapping, Optional
from urllib.parse import unquote, urlsplit

from envctl import settings
from envctl.spec.indexes import strip_auth

_KEEP = frozenset(
    {
        "PIP_CERT",
        "PIP_CLIENT_CERT",
        "PIP_PROXY",
        "PIP_TIMEOUT",
        "PIP_DEFAULT_TIMEOUT",
        "PIP_RETRIES",
        "PIP_CACHE_DIR",
        "PIP_NO_CACHE_DIR",
        "UV_CACHE_DIR",
        "UV_NO_CACHE",
        "UV_NATIVE_TLS",
        "UV_HTTP_TIMEOUT",
        "UV_CONCURRENT_DOWNLOADS",
        "UV_CONCURRENT_BUILDS",
    }
)


_SECRET_PREFIXES = (
    *("ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_", "ODPS_", "AWS_", "AZURE_", "GOOGLE_", "ENVCTL_"),
)
_SECRET_WORDS = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|(^|_)PASS(_|$)|CREDENTIAL|ACCESS_KEY|API_KEY|PRIVATE_KEY"
)


def is_secret_variable(name: str) -> bool:
    """Whether a variable may hold a credential a build backend must not see.

    Cloud SDK prefixes (the MaxCompute access key, ``AWS_*``...), envctl's own settings (the
    runtime's ``ENVCTL_INDEX_URL`` may carry a password) and names that say what they hold.
    """
    upper = name.upper()
    if any(name == s.name for s in settings.secrets()):
        return True
    return upper.startswith(_SECRET_PREFIXES) or _SECRET_WORDS.search(upper) is not None


def isolated_env(base: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) safe to run pip, uv and their backends with."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if (not key.startswith(("PIP_", "UV_")) or key in _KEEP) and not is_secret_variable(key)
    }
    env["PIP_CONFIG_FILE"] = os.devnull  # pip: load no configuration file at all
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _netrc_token(text: str) -> str:
    """A netrc token: bare when plain, else double-quoted with backslash escapes."""
    if text and not any(c.isspace() or c in '"\\#' for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def netrc_text(urls: Sequence[str]) -> str:
    """netrc entries for the credentials in ``urls`` (first URL per host wins, as in downloads)."""
    lines: dict[str, str] = {}
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname and parts.username is not None and parts.hostname not in lines:
            user, password = unquote(parts.username), unquote(parts.password or "")
            login, secret = _netrc_token(user), _netrc_token(password)
            lines[parts.hostname] = f"machine {parts.hostname} login {login} password {secret}"
    return "".join(line + "\n" for line in lines.values())


@contextmanager
def index_access(
    urls: Sequence[str], credentials: Sequence[str] = ()
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """``(index options, child environment)`` for pip or uv with the expanded index ``urls``.

    The options carry no userinfo; when a URL (or one of the direct requirement URLs in
    ``credentials``) has credentials they are written to a netrc file only this user can read,
    named by ``NETRC`` in the environment and deleted when the block ends. Why: a command
    line is public to every local user, a 0600 file is not.
    """
    options = ["--index-url", strip_auth(urls[0])]
    for url in urls[1:]:
        options += ["--extra-index-url", strip_auth(url)]
    env = isolated_env()
    text = netrc_text([*urls, *credentials])
    if not text:
        yield options, env
        return
    fd, name = tempfile.mkstemp(prefix="envctl-netrc-")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        env["NETRC"] = name
        yield options, env
    finally:
        os.unlink(name)


def find_uv() -> Optional[str]:
    """The uv binary: the ``uv`` Python package's, else one on PATH; ``None`` without uv."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
