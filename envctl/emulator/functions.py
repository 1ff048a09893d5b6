"""SQL function registration (``/projects/<p>[/schemas/<s>]/registration/functions``).

What pyodps's ``odps.models.Functions`` sends and parses: ``POST`` a ``<Function>`` document
(``Alias``, ``ClassType``, ``Resources/ResourceName``) to create, ``GET``/``PUT``/``DELETE``
one by name, and ``GET`` the collection as a ``<Functions>`` page with a ``Marker`` (empty at
the end). Same fidelity rule as resources: a function may only reference resources that
exist (in its project or, as ``<project>/resources/<name>``, in another), so a test cannot
register a function the real service would refuse.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from envctl.emulator import errors
from envctl.emulator.store import schema_dir
from envctl.files import write_bytes_atomic


@dataclass
class FunctionRecord:
    name: str
    class_type: str
    resources: list[str] = field(default_factory=list)
    owner: str = ""
    created: float = 0.0


def parse_function_xml(body: bytes) -> tuple[str, str, list[str]]:
    """``(alias, class type, resource names)`` of a ``<Function>`` request body."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise errors.invalid_parameter(f"malformed function XML: {exc}") from None
    name = (root.findtext("Alias") or "").strip()
    class_type = (root.findtext("ClassType") or "").strip()
    resources = [(n.text or "").strip() for n in root.iter("ResourceName")]
    if not name or not class_type:
        raise errors.invalid_parameter("a function needs an Alias and a ClassType")
    return name, class_type, [r for r in resources if r]


def _node(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else f"<{tag}/>"


def _function_body(record: FunctionRecord, http_date: Callable[[float], str]) -> str:
    resources = "".join(_node("ResourceName", r) for r in record.resources)
    return (
        _node("Alias", record.name)
        + _node("Owner", record.owner)
        + _node("CreationTime", http_date(record.created))
        + _node("ClassType", record.class_type)
        + f"<Resources>{resources}</Resources>"
    )


def function_xml(record: FunctionRecord, http_date: Callable[[float], str]) -> bytes:
    body = _function_body(record, http_date)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Function>{body}</Function>\n'.encode()


def function_list_xml(
    page: list[FunctionRecord], marker: str, max_items: int, http_date: Callable[[float], str]
) -> bytes:
    items = "".join(f"<Function>{_function_body(r, http_date)}</Function>" for r in page)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Functions>'
        f"{_node('Marker', marker)}<MaxItems>{max_items}</MaxItems>{items}</Functions>\n"
    ).encode()


class FunctionStore:
    """One JSON file per function below the emulator's data directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, project: str, schema: Optional[str]) -> Path:
        return schema_dir(self.root, project, schema, "functions")

    def _path(self, project: str, schema: Optional[str], name: str) -> Path:
        return self._dir(project, schema) / (quote(name, safe="") + ".json")

    def get(self, project: str, schema: Optional[str], name: str) -> FunctionRecord:
        try:
            raw = self._path(project, schema, name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise errors.no_such_object(f"function '{name}' in project '{project}'") from None
        return FunctionRecord(**json.loads(raw))

    def save(
        self, project: str, schema: Optional[str], record: FunctionRecord, *, create: bool
    ) -> None:
        path = self._path(project, schema, record.name)
        if create and path.exists():
            raise errors.already_exists(f"function '{record.name}' in project '{project}'")
        if not create and not path.exists():
            raise errors.no_such_object(f"function '{record.name}' in project '{project}'")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(asdict(record), sort_keys=True).encode())

    def delete(self, project: str, schema: Optional[str], name: str) -> None:
        try:
            self._path(project, schema, name).unlink()
        except FileNotFoundError:
            raise errors.no_such_object(f"function '{name}' in project '{project}'") from None

    def page(
        self, project: str, schema: Optional[str], *, prefix: str, marker: str, limit: int
    ) -> tuple[list[FunctionRecord], str]:
        """Functions named ``prefix...`` after ``marker`` (``limit`` at most), the next marker."""
        directory = self._dir(project, schema)
        names = (
            sorted(unquote(p.name[: -len(".json")]) for p in directory.glob("*.json"))
            if directory.is_dir()
            else []
        )
        chosen = [n for n in names if n.startswith(prefix) and n > marker]
        page = [self.get(project, schema, n) for n in chosen[:limit]]
        return page, (page[-1].name if len(chosen) > limit else "")


def new_record(name: str, class_type: str, resources: list[str], owner: str) -> FunctionRecord:
    return FunctionRecord(name, class_type, resources, owner, time.time())


def resource_location(reference: str, project: str) -> tuple[str, Optional[str], str]:
    """``(project, schema, name)`` a function's resource reference points at."""
    parts = reference.split("/")
    if len(parts) == 3 and parts[1] == "resources":
        return parts[0], None, parts[2]
    if len(parts) == 5 and parts[1] == "schemas" and parts[3] == "resources":
        return parts[0], parts[2], parts[4]
    return project, None, reference
