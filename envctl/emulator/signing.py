"""Optional strict mode: check each request's signature against the known secret keys.

MaxCompute signs like this (pyodps ``accounts.BaseAccount._build_canonical_str`` and
``CloudAccount.calc_auth_str``): the method, ``content-type``, ``content-md5``, every
``x-odps-*`` header and query parameter, the ``Date`` header and the sorted, unquoted resource
path below the endpoint, HMAC-SHA1'd with the secret (v2: ``ODPS <id>:<sig>``) or with a key
derived from it, the day and the region (v4: ``ODPS <id>/<yyyymmdd>/<region>/odps/aliyun_v4_
request:<sig>``). The emulator recomputes the same string, so a wrong secret is refused with
the service's 401 instead of being accepted, as the default (lenient) emulator does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from email.message import Message
from urllib.parse import parse_qsl, unquote, urlparse

from envctl.emulator.errors import ServiceError

V4_PREFIX = "aliyun_v4"


def canonical_string(method: str, raw_path: str, headers: Message, prefix: str) -> str:
    """What the client signed, rebuilt from the request as the server received it."""
    url = unquote(raw_path)
    if prefix and url.startswith(prefix):
        url = url[len(prefix) :]
    parts = urlparse(url, allow_fragments=False)
    resource = parts.path
    params: dict[str, str] = {}
    if parts.query:
        params = dict(parse_qsl(parts.query, True))
        pairs = (f"{k}={v}" if v != "" else k for k, v in sorted(params.items()))
        resource = f"{resource}?{'&'.join(pairs)}"
    signed = {"content-type": "", "content-md5": ""}
    for key, value in headers.items():
        key = key.lower()
        if key in ("content-type", "content-md5") or key.startswith("x-odps-"):
            signed[key] = value
    signed["date"] = headers.get("Date") or ""
    signed.update((k, v) for k, v in params.items() if k.startswith("x-odps-"))
    lines = [method]
    lines += [f"{k}:{v}" if k.startswith("x-odps-") else v for k, v in sorted(signed.items())]
    lines.append(resource)
    return "\n".join(lines)


def _v4_key(secret: str, day: str, region: str) -> bytes:
    key = (V4_PREFIX + secret).encode()
    for part in (day, region, "odps", V4_PREFIX + "_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature_not_match() -> ServiceError:
    return ServiceError(401, "SignatureNotMatch", "The request signature does not match.")


def verify(
    method: str, raw_path: str, headers: Message, prefix: str, keys: Mapping[str, str]
) -> None:
    """Raise the service's 401 unless ``Authorization`` is a valid signature by a known key.

    Bearer-token requests (``x-odps-bearer-token``) carry no signature and are refused too:
    strict mode knows key pairs only.
    """
    authorization = headers.get("Authorization") or ""
    scheme, _, credential = authorization.partition(" ")
    access, _, signature = credential.rpartition(":")
    access_id, *scope = access.split("/")
    secret = keys.get(access_id)
    if scheme != "ODPS" or secret is None or not signature:
        raise signature_not_match()
    if scope:
        if len(scope) != 4 or scope[2:] != ["odps", V4_PREFIX + "_request"]:
            raise signature_not_match()
        key = _v4_key(secret, scope[0], scope[1])
    else:
        key = secret.encode()
    canonical = canonical_string(method, raw_path, headers, prefix).encode()
    expected = base64.b64encode(hmac.new(key, canonical, hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise signature_not_match()
