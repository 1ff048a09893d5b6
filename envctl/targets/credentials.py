"""Where an ``odps://`` target's credentials come from: the first source that has them wins.

1. An ``odps.ODPS`` entry handed over in Python (:func:`envctl.udf.configure` or
   ``OdpsTarget.from_entry``), else the active MaxFrame session's entry. DataWorks nodes and
   notebooks provide one without any key in the environment.
2. The variables a named target of ``envctl.toml`` names (``access_key_id_var``...). They are
   required once named: a prod target never falls back to whatever keys the job holds.
3. ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (+ ``..._SECURITY_TOKEN``).
4. pyodps's own conventions: the global account (``ODPS.from_global()``, set by
   ``o.to_global()``), then ``ODPS_STS_ACCOUNT_FILE``, ``ODPS_STS_ACCESS_KEY_ID`` /
   ``ODPS_STS_ACCESS_KEY_SECRET`` / ``ODPS_STS_TOKEN`` and ``ODPS_BEARER_TOKEN(_FILE)``
   (``ODPS.from_environments()``'s account).
5. The Alibaba Cloud default credential chain (credentials file, OIDC role, ECS RAM role...),
   with the optional ``envctl[cloud]`` extra, through pyodps's ``CredentialProviderAccount``.

Why explicit before ambient: a named target's variables or an entry are what the user chose
for this target; an ECS role or a global account is merely present. Values are held only in
the pyodps account, registered for redaction (:func:`envctl.console.hide`), never written.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional

from envctl import console, settings
from envctl.errors import EnvctlError

if TYPE_CHECKING:
    from odps import ODPS

_entry: list[Any] = []
"""The entry of :func:`configure_entry` (at most one)."""

_SECRET_ATTRIBUTES = ("access_id", "secret_access_key", "sts_token", "token")


@dataclass(frozen=True)
class Credentials:
    """pyodps ``ODPS(...)`` keyword arguments and, for messages, where they came from."""

    kwargs: dict[str, Any] = field(repr=False)
    source: str


def configure_entry(entry: Optional[ODPS]) -> None:
    """Use ``entry``'s account for every ``odps://`` target of this process (None: forget it)."""
    _entry.clear()
    if entry is not None:
        if not hasattr(entry, "account") or not hasattr(entry, "endpoint"):
            raise EnvctlError(f"odps= takes an odps.ODPS entry, not {type(entry).__name__}")
        _entry.append(entry)


def maxframe_entry() -> Optional[ODPS]:
    """The ``odps.ODPS`` entry of MaxFrame's default session, if MaxFrame is imported and has one.

    Never imports MaxFrame: without it imported there is no session to ask.
    """
    module = sys.modules.get("maxframe.session")
    session = getattr(getattr(module, "AbstractSession", None), "default", None)
    return getattr(session, "_odps_entry", None) if session is not None else None


def python_entry() -> tuple[Optional[ODPS], str]:
    """The entry handed over in Python, with its source: configured, else MaxFrame's session."""
    if _entry:
        return _entry[0], "envctl.udf.configure(odps=...)"
    entry = maxframe_entry()
    return (entry, "the MaxFrame session's entry") if entry is not None else (None, "")


def _hide_account(account: Any) -> None:
    console.hide(*(getattr(account, a, None) for a in _SECRET_ATTRIBUTES))


def _from_entry(entry: Any, source: str) -> Credentials:
    account = entry.account
    _hide_account(account)
    kwargs: dict[str, Any] = {"account": account}
    if getattr(entry, "app_account", None) is not None:
        kwargs["app_account"] = entry.app_account
    return Credentials(kwargs, source)


def key_pair_from_variables(variables: Mapping[str, str], required: bool) -> Optional[Credentials]:
    """A key pair (+ STS token) from ``ALIBABA_CLOUD_*`` or a named target's own variables."""
    key_id, key_secret, token_var = (
        settings.renamed_secret(s, variables[k]) if variables.get(k) else s
        for k, s in (
            ("access_key_id_var", settings.ACCESS_KEY_ID),
            ("access_key_secret_var", settings.ACCESS_KEY_SECRET),
            ("security_token_var", settings.SECURITY_TOKEN),
        )
    )
    access_id, secret = key_id.get(), key_secret.get()
    if not access_id or not secret:
        if required:
            raise EnvctlError(
                f"the odps target needs credentials: set {key_id.name} and "
                f"{key_secret.name} (and {token_var.name} for STS credentials)"
            )
        return None
    kwargs = {"access_id": access_id, "secret_access_key": secret}
    token = token_var.get()
    if token:
        kwargs["sts_token"] = token
    return Credentials(kwargs, key_id.name)


def _from_pyodps() -> Optional[Credentials]:
    """pyodps's global account, else the account its environment variables describe."""
    from odps import accounts, options

    if options.account is not None:
        _hide_account(options.account)
        return Credentials({"account": options.account}, "pyodps's global account (to_global)")
    account = accounts.from_environments()
    if account is None:
        return None
    _hide_account(account)
    return Credentials({"account": account}, f"pyodps's {type(account).__name__} from ODPS_*")


_chain: list[Any] = []
"""The default chain's account, once found: one per process (it refreshes its own tokens)."""


def _from_default_chain() -> Optional[Credentials]:
    """The Alibaba Cloud default credential chain (``envctl[cloud]``), None without the extra.

    Asked once here so that no credentials anywhere is one clear error now, not a failed
    request later; pyodps asks the chain again before each request (it refreshes tokens).
    """
    source = "the Alibaba Cloud default credential chain"
    if _chain:
        return Credentials({"account": _chain[0]}, source)
    try:
        from alibabacloud_credentials.client import Client
    except ImportError:
        return None
    from odps.accounts import CredentialProviderAccount

    chain_log = logging.getLogger("credentials")  # the SDK logs each failed link's traceback
    quiet, chain_log.disabled = chain_log.disabled, True
    try:
        account = CredentialProviderAccount(Client())
        account._refresh_credential()
    except Exception as exc:  # noqa: BLE001 - the chain raises its own types for "none found"
        console.debug(f"Alibaba Cloud default credential chain: {type(exc).__name__}")
        return None
    finally:
        chain_log.disabled = quiet
    _hide_account(account)
    _chain.append(account)
    return Credentials({"account": account}, source)


_announced: set[tuple[str, str]] = set()


def announce(target: str, source: str) -> None:
    """Say (with ``-v``) where ``target``'s credentials come from, once per process."""
    if (target, source) not in _announced:
        _announced.add((target, source))
        console.debug(f"{target}: credentials from {source}")


NO_CREDENTIALS = (
    "the odps target needs credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials), "
    "pass an odps.ODPS entry (envctl.udf.configure(odps=o)), use pyodps's ODPS_STS_* / "
    "ODPS_BEARER_TOKEN variables, or install envctl[cloud] for the Alibaba Cloud default "
    "credential chain (credentials file, OIDC, ECS RAM role)"
)


_LOGGED_SECRET = re.compile(
    r"(?P<lead>token reloaded: )\S+"
    r"|(?P<header>'(?:authorization|authorization-sts-token|x-odps-bearer-token)': ')[^']*",
    re.IGNORECASE,
)


class _RedactPyodpsLogs(logging.Filter):
    """pyodps logs tokens at INFO (``STS token reloaded: <token>``) and signed request headers
    at DEBUG; a notebook or job that turns logging on would print them. Mask them, and every
    value envctl redacts, in the record itself (so every handler sees the masked text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = _LOGGED_SECRET.sub(
            lambda m: (m["lead"] or m["header"]) + "***", console.redact(record.getMessage())
        )
        record.msg, record.args = text, ()
        return True


def _guard_pyodps_logs() -> None:
    accounts_log = logging.getLogger("odps.accounts")
    if not any(isinstance(f, _RedactPyodpsLogs) for f in accounts_log.filters):
        accounts_log.addFilter(_RedactPyodpsLogs())


def resolve_credentials(
    variables: Optional[Mapping[str, str]] = None, entry: Optional[ODPS] = None
) -> Credentials:
    """The credentials of one ``odps://`` target, by the precedence in this module's docstring.

    ``entry``: the entry the target was built from (wins over everything); ``variables``:
    ``{access_key_id_var: NAME, ...}`` of a named target.
    """
    _guard_pyodps_logs()
    if entry is not None:
        return _from_entry(entry, "the odps.ODPS entry the target was built from")
    configured, source = python_entry()
    if configured is not None:
        return _from_entry(configured, source)
    if variables:
        named = key_pair_from_variables(variables, required=True)
        assert named is not None
        return named
    found = key_pair_from_variables({}, required=False) or _from_pyodps() or _from_default_chain()
    if found is None:
        raise EnvctlError(NO_CREDENTIALS)
    return found
