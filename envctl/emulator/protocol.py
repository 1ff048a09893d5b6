"""Pure translation between emulator state and MaxCompute's wire shapes (URLs, XML, headers).

Everything here is side-effect free so the shapes pyodps parses can be read in one place:
``Resource.reload`` reads the ``?meta`` headers, ``Resources.iterate`` the list XML,
``Project.reload`` the project XML plus owner/time headers, ``Tenant.reload`` the JSON.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from email.utils import formatdate
from typing import Optional
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

from envctl.emulator import errors
from envctl.emulator.store import MAX_NAME_BYTES, ResourceMeta

FILE_TYPES = ("FILE", "ARCHIVE", "PY", "JAR")


@dataclass(frozen=True)
class Route:
    """What a request addresses. ``kind`` also names it in stats and fault rules."""

    kind: str
    project: Optional[str] = None
    schema: Optional[str] = None
    name: Optional[str] = None


def parse_query(raw_query: str) -> dict[str, str]:
    """Query parameters; bare flags such as ``?meta`` or ``?rOpMerge`` map to ``""``."""
    return {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}


_PROJECT = r"/projects/(?P<project>[^/]+)"
_SCHEMA = r"(?:/schemas/(?P<schema>[^/]+))?"
_FUNCTIONS = r"registration(?:/|%2[fF])functions"
_ROUTES = [
    (re.compile(rf"^{_PROJECT}{_SCHEMA}/resources/?$"), "resources"),
    (re.compile(rf"^{_PROJECT}{_SCHEMA}/resources/(?P<name>[^/]+)$"), "resource"),
    # pyodps quotes the "/" of "registration/functions" (one path segment to it)
    (re.compile(rf"^{_PROJECT}{_SCHEMA}/{_FUNCTIONS}/?$"), "functions"),
    (re.compile(rf"^{_PROJECT}{_SCHEMA}/{_FUNCTIONS}/(?P<name>[^/]+)$"), "function"),
    (re.compile(rf"^{_PROJECT}/?$"), "project"),
    (re.compile(rf"^{_PROJECT}/logs$"), "logs"),
    (re.compile(r"^/tenants/?$"), "tenant"),
    (re.compile(r"^/(?:logview|webconsole)/host$"), "host"),
]


def route(method: str, path: str, query: dict[str, str]) -> Route:
    """Classify a request path (below the endpoint's ``/api``) into a :class:`Route`.

    Percent-escapes decode as UTF-8, as the service does; anything else is refused.
    """
    for pattern, target in _ROUTES:
        match = pattern.match(path)
        if not match:
            continue
        try:
            groups = {
                k: unquote(v, errors="strict")
                for k, v in match.groupdict().items()
                if v is not None
            }
        except UnicodeDecodeError:
            raise errors.invalid_parameter("a name in the path is not valid UTF-8") from None
        schema = groups.get("schema") or query.get("curr_schema") or None
        project, name = groups.get("project"), groups.get("name")
        if target == "resources":
            if method == "GET":
                kind = "list"
            elif "rOpMerge" in query:
                kind = "merge"
            elif "rIsPart" in query:
                kind = "part"
            else:
                kind = "create"
            return Route(kind, project, schema)
        if target == "resource":
            if method == "HEAD" or (method == "GET" and "meta" in query):
                kind = "meta"
            elif method == "GET":
                kind = "read"
            elif method == "PUT":
                kind = "merge" if "rOpMerge" in query else "replace"
            elif method == "DELETE":
                kind = "delete"
            else:
                kind = "unsupported"
            return Route(kind, project, schema, name)
        if target in ("functions", "function"):
            return Route(_function_kind(method, target), project, schema, name)
        return Route(target, project)
    return Route("unknown")


def _function_kind(method: str, target: str) -> str:
    """``function_list``/``function_create`` on the collection, ``function_get``/``_update``/
    ``_delete`` on one function (see ``envctl.emulator.functions``)."""
    if target == "functions":
        return {"GET": "function_list", "POST": "function_create"}.get(method, "unsupported")
    verbs = {"GET": "function_get", "HEAD": "function_get", "PUT": "function_update"}
    return {**verbs, "DELETE": "function_delete"}.get(method, "unsupported")


def check_name(name: str) -> None:
    """Refuse a resource name the store cannot hold (checked before the body is spooled).

    The byte limit and the refused characters are assumptions (the service's rule is not
    published in a form that was measured); the refusal shape is the service's 400.
    """
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise errors.invalid_parameter(f"resource name longer than {MAX_NAME_BYTES} bytes")
    if "/" in name or any(ord(ch) < 32 for ch in name) or not name.strip():
        raise errors.invalid_parameter(f"invalid resource name {name!r}")


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def header_safe(text: str) -> str:
    """HTTP/1.1 header values are latin-1; percent-encode anything else."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return quote(text, safe=" !#$&'()*+,/:;=?@[]~")


MD5_FORMATS = ("hex", "base64", "absent")


def meta_headers(meta: ResourceMeta, md5_format: str = "hex") -> dict[str, str]:
    """The headers ``odps.models.Resource.reload`` reads from a ``?meta`` response.

    ``meta.md5`` must be known (``ResourceStore.content_md5`` hashes a part's content).
    """
    if meta.md5 is None:
        raise ValueError(f"{meta.name}: md5 not computed yet")
    headers = {
        "x-odps-owner": meta.owner,
        "x-odps-resource-type": meta.type,
        "x-odps-updator": meta.updator,
        "x-odps-resource-size": str(meta.size),
        "x-odps-creation-time": http_date(meta.created),
        "Last-Modified": http_date(meta.modified),
        "x-odps-resource-istemp": "true" if meta.is_temp else "false",
    }
    if md5_format == "hex":
        headers["Content-MD5"] = meta.md5
    elif md5_format == "base64":
        headers["Content-MD5"] = base64.b64encode(bytes.fromhex(meta.md5)).decode("ascii")
    if meta.comment is not None:
        headers["x-odps-comment"] = header_safe(meta.comment)
    return headers


def _node(tag: str, value: Optional[str]) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else f"<{tag}/>"


def resource_list_xml(page: list[ResourceMeta], marker: str, max_items: int) -> bytes:
    """``GET /projects/<p>/resources`` body; an empty ``Marker`` ends pyodps's iteration."""
    items = "".join(
        "<Resource>"
        + _node("Name", meta.name)
        + _node("Owner", meta.owner)
        + _node("Comment", meta.comment)
        + _node("ResourceType", meta.type)
        + _node("CreationTime", http_date(meta.created))
        + _node("LastModifiedTime", http_date(meta.modified))
        + _node("LastUpdator", meta.updator)
        + _node("ResourceSize", str(meta.size))
        + "</Resource>"
        for meta in page
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Resources>'
        f"{_node('Marker', marker)}<MaxItems>{max_items}</MaxItems>{items}</Resources>\n"
    ).encode()


def project_xml(project: str, owner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Project>'
        f"{_node('Name', project)}<Type>managed</Type><Comment/>"
        f"{_node('Owner', owner)}<State>AVAILABLE</State>"
        "<Properties/></Project>\n"
    ).encode()


def tenant_json(owner: str) -> bytes:
    """Schema namespaces off: pyodps then addresses resources as ``/projects/<p>/resources``."""
    return json.dumps(
        {
            "Tenant": {
                "Name": "envctl-emulator",
                "OwnerId": owner,
                "TenantId": "0",
                "TenantState": "NORMAL",
                "Parameters": {"odps.namespace.schema": "false"},
            }
        }
    ).encode("utf-8")


def owner_from_authorization(value: str) -> str:
    """``ODPS <access id>[/<v4 scope>]:<signature>`` -> ``ALIYUN$<access id>`` (not verified)."""
    credential = value.split(" ", 1)[-1].rsplit(":", 1)[0]
    return "ALIYUN$" + (credential.split("/", 1)[0] or "anonymous")


def split_target(raw_path: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(raw_path)
    return parts.path, parse_query(parts.query)


def parse_merge_manifest(body: bytes) -> tuple[str, list[str]]:
    """pyodps's merge body is ``<md5 hex of the whole content>|<part1>,<part2>,...``."""
    text = body.decode("utf-8", errors="strict")
    md5, sep, names = text.partition("|")
    parts = [n for n in names.split(",") if n]
    if not sep or not re.fullmatch(r"[0-9a-fA-F]{32}", md5) or not parts:
        raise ValueError("merge body must be '<md5 hex>|<part name>[,<part name>...]'")
    return md5.lower(), parts
