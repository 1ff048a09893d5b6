"""Package index URLs: credentials come from environment variables and never reach a lock.

A spec may write ``https://${PYPI_USER}:${PYPI_TOKEN}@pypi.example.com/simple``; the variables
are expanded only when talking to the index. URLs recorded in locks carry no userinfo, and the
credentials are re-attached at download time for files served from the same host.
"""

from __future__ import annotations

import os
import re
from typing import IO, TYPE_CHECKING, Any, Iterable, Optional
from urllib.parse import unquote, urlsplit, urlunsplit

from envctl.errors import EnvctlError

if TYPE_CHECKING:  # loader imports this module
    import urllib.request
    from http.client import HTTPMessage

    from envctl.spec.loader import Environment

DEFAULT_INDEX_URL = "https://pypi.org/simple"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(url: str) -> str:
    """Substitute ``${VAR}`` from the environment; an unset variable is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise EnvctlError(f"index URL needs environment variable {name}, which is not set")
        return os.environ[name]

    return _VAR.sub(value, url)


def index_urls(env: Environment) -> list[str]:
    """The spec's index and extra indexes, expanded (default PyPI).

    They carry credentials: pass them only to pip/uv and downloads, never print or store them.
    """
    return [expand(env.index_url or DEFAULT_INDEX_URL), *(expand(u) for u in env.extra_index_urls)]


def requirements_and_credentials(env: Environment) -> tuple[list[str], list[str]]:
    """The requirements as pip/uv get them (no userinfo) and the direct URLs' credentials."""
    pairs = [expand_requirement(r) for r in env.requirements]
    return [text for text, _ in pairs], [url for _, url in pairs if url]


def literal_password(url: str) -> bool:
    """Whether ``url``'s userinfo holds a password written out rather than ``${VAR}`` references.

    Why: a spec lives in git, so a password in it is leaked; a username alone is no secret.
    """
    try:
        password = urlsplit(url).password
    except ValueError:  # e.g. a bad port: the schema reports the URL itself
        return False
    return bool(password) and bool(_VAR.sub("", password or ""))


def with_variable_password(url: str, variable: str = "INDEX_TOKEN") -> str:
    """``url`` with its password replaced by ``${variable}``: the fix a message can show safely."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or "user"
    return urlunsplit(parts._replace(netloc=f"{user}:${{{variable}}}@{host}"))


def strip_auth(url: str) -> str:
    """``https://u:p@host/x`` -> ``https://host/x`` (what may be stored or printed)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def auth_for(url: str, index_urls: Iterable[str]) -> Optional[tuple[str, str]]:
    """(user, password) of the first expanded index URL on the same host as ``url``."""
    host = urlsplit(url).hostname
    for index in index_urls:
        parts = urlsplit(index)
        if parts.hostname == host and parts.username is not None:
            return unquote(parts.username), unquote(parts.password or "")
    return None


def authorized_request(
    url: str, index_urls: Iterable[str], headers: Optional[dict[str, str]] = None
) -> urllib.request.Request:
    """A GET of ``url`` carrying the Basic credentials of its host's index (``auth_for``).

    In process only: the credentials go in a header, never on a command line. The header is
    one urllib does not carry over a redirect; :func:`open_url` re-adds it for the new host.
    """
    import urllib.request  # not at module level: the CLI imports this module at start-up

    request = urllib.request.Request(url, headers={"User-Agent": "envctl", **(headers or {})})
    _authorize(request, index_urls)
    return request


def _authorize(request: urllib.request.Request, index_urls: Iterable[str]) -> None:
    import base64

    credentials = auth_for(request.full_url, index_urls)
    if credentials:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")


def open_url(
    url: str,
    index_urls: Iterable[str],
    headers: Optional[dict[str, str]] = None,
    timeout: float = 30.0,
) -> Any:
    """Open a GET of ``url`` (``authorized_request``); each redirect gets the credentials of
    its own host's index, or none.

    Why: urllib copies an ``Authorization`` header to whatever host a redirect names, so an
    index (or a file host) redirecting to a CDN would hand it the index's password.
    """
    import urllib.request

    indexes = tuple(index_urls)

    class _PerHostCredentials(urllib.request.HTTPRedirectHandler):
        def redirect_request(
            self,
            req: urllib.request.Request,
            fp: IO[bytes],
            code: int,
            msg: str,
            headers: HTTPMessage,
            newurl: str,
        ) -> Optional[urllib.request.Request]:
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            if new is not None:
                _authorize(new, indexes)
            return new

    opener = urllib.request.build_opener(_PerHostCredentials)
    return opener.open(authorized_request(url, indexes, headers), timeout=timeout)


def expand_requirement(text: str) -> tuple[str, Optional[str]]:
    """One requirement as pip/uv get it, and its direct URL with credentials (else None).

    ``name @ https://${USER}:${TOKEN}@host/x.whl`` has its variables expanded and its userinfo
    moved out: the requirement keeps the bare URL (a command line is public), the expanded URL
    goes to the netrc file and to downloads, like an index URL's credentials.
    """
    from packaging.requirements import Requirement

    if "@" not in text:
        return text, None
    requirement = Requirement(text)
    if not requirement.url:
        return text, None
    url = expand(requirement.url)
    if "@" not in urlsplit(url).netloc:
        return text, None
    requirement.url = strip_auth(url)
    return str(requirement), url
