"""YAML documents as plain Python values plus the line/column of every node.

Validation messages must point at ``path:line:col``; PyYAML's composed node graph knows the
marks, so values are built from nodes here and a position map is kept beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Union

import yaml

MAX_NODES = 100_000
"""Bound on values built from one document, so alias bombs fail fast instead of eating memory."""

_CONSTRUCTOR_ERRORS = (
    yaml.YAMLError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
)
"""What PyYAML's constructors raise for a malformed explicitly tagged scalar (``!!int abc``,
``!!timestamp 2020-13-45``, ``!!bool maybe``): bad input, never an internal error."""

Key = tuple[Union[str, int], ...]
Position = tuple[int, int]


class YamlProblem(Exception):
    """A document that cannot be read as YAML, with the 1-based position of the fault."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


@dataclass
class Document:
    """A parsed YAML document: its value and where each value (and mapping key) starts."""

    value: Any
    values: dict[Key, Position] = field(default_factory=dict)
    keys: dict[Key, Position] = field(default_factory=dict)

    def position(self, key: Key, *, of_key: bool = False) -> Position:
        """Position of the value (or its key) at ``key``, else of the nearest enclosing node."""
        table = self.keys if of_key else self.values
        probe = tuple(key)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


def _mark(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self) -> None:
        self.constructor = yaml.SafeLoader("")
        # Typed here: older PyYAML stubs leave ``construct_object`` unannotated.
        self.construct: Callable[..., Any] = self.constructor.construct_object
        self.doc = Document(value=None)
        self.budget = MAX_NODES

    def build(self, node: yaml.Node, key: Key) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise YamlProblem(
                f"document too large: more than {MAX_NODES} values (alias expansion?)"
            )
        self.doc.values[key] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, key)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*key, i)) for i, child in enumerate(node.value)]
        try:
            return self.construct(node, deep=True)
        except _CONSTRUCTOR_ERRORS as exc:
            line, col = _mark(node)
            raise YamlProblem(f"invalid value: {_first_line(exc)}", line, col) from None

    def _mapping(self, node: yaml.MappingNode, key: Key) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                line, col = _mark(key_node)
                raise YamlProblem(
                    "YAML merge keys ('<<') are not supported; use 'extends'", line, col
                )
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                raise YamlProblem("mapping keys must be plain strings", line, col)
            name = self.construct(key_node)
            if not isinstance(name, str):
                name = str(name)
            if name in result:
                line, col = _mark(key_node)
                raise YamlProblem(f"duplicate key {name!r}", line, col)
            self.doc.keys[(*key, name)] = _mark(key_node)
            result[name] = self.build(value_node, (*key, name))
        return result


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or exc.__class__.__name__


def parse(text: str) -> Document:
    """Parse exactly one YAML document, raising YamlProblem with a position on any fault."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            start = exc.context_mark
            reason += f" ({exc.context} started at {start.line + 1}:{start.column + 1})"
        raise YamlProblem(f"invalid YAML: {reason}", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {_first_line(exc)}") from None
    except RecursionError:
        raise YamlProblem("invalid YAML: nesting is too deep") from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise YamlProblem("file is empty; expected a mapping with at least 'name'")
    if len(nodes) > 1:
        line, col = _mark(nodes[1])
        raise YamlProblem("expected one YAML document per file, found several", line, col)
    builder = _Builder()
    try:
        builder.doc.value = builder.build(nodes[0], ())
    except RecursionError:
        raise YamlProblem("invalid YAML: nesting is too deep") from None
    return builder.doc
