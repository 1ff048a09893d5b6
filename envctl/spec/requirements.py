"""Requirement strings as users write them: several PEP 508 specifiers may share one string.

MaxFrame's seed example passes ``"jieba==0.40 cloudpickle pandas"`` as one requirement, while
``"pandas >= 1.0"`` is a single specifier with spaces. The split takes, at each position,
the longest run of whitespace-separated tokens that parses as one PEP 508 requirement.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


class RequirementError(ValueError):
    """A requirement string that is not valid PEP 508.

    ``str()`` is one line quoting the whole string; ``pointer`` shows it again with a caret
    under the error position, for output that can take more lines (``envctl validate``).
    """

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.text, self.position = text, position

    @property
    def pointer(self) -> tuple[str, ...]:
        """``("    numpy; python_version >", "                           ^")``, or nothing."""
        return (f"    {self.text}", f"    {' ' * self.position}^") if self.text else ()


def _quoted(text: str, position: int, reason: str) -> RequirementError:
    """The whole string, quoted, the error's column in it, and the caret lines to show it."""
    return RequirementError(
        f"invalid PEP 508 requirement {text!r}: {reason} (column {position + 1})", text, position
    )


def _failure(text: str) -> tuple[int, str]:
    """(offset in ``text``, reason) of the first error packaging finds in ``text``."""
    try:
        _requirement(text)
    except InvalidRequirement as exc:
        lines = str(exc).splitlines()
        reason = lines[0][:1].lower() + lines[0][1:]
        caret = lines[-1].find("^") if len(lines) >= 3 else -1
        return (max(0, caret - 4) if caret >= 0 else len(text)), reason
    return len(text), "cannot be combined with the text around it"


def _requirement(text: str) -> Requirement:
    """Parse one PEP 508 requirement, also rejecting an operator without a version.

    packaging 26.3 (the last release for Python 3.9) accepts ``name===`` with an empty version,
    which PEP 508 forbids and later releases reject.
    """
    req = Requirement(text)
    if any(not spec.version for spec in req.specifier):
        raise InvalidRequirement("a version specifier needs a version")
    return req


def _parses(text: str) -> bool:
    try:
        _requirement(text)
    except InvalidRequirement:
        return False
    return True


def split_requirements(text: str) -> list[str]:
    """Split ``text`` into single PEP 508 requirement strings, or raise RequirementError."""
    stripped = text.strip()
    if not stripped:
        raise RequirementError("empty requirement")
    if _parses(stripped):
        return [stripped]
    spans = [m.span() for m in re.finditer(r"\S+", stripped)]
    tokens = [stripped[a:b] for a, b in spans]
    result: list[str] = []
    i = 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            candidate = " ".join(tokens[i:j])
            if _parses(candidate):
                result.append(candidate)
                i = j
                break
        else:
            start = spans[i][0]
            offset, reason = _failure(stripped[start:])
            raise _quoted(stripped, start + offset, reason)
    return result


def canonical_requirement(text: str) -> str:
    """One requirement in a canonical spelling: normalized name, sorted extras and specifiers."""
    req = Requirement(text)
    out: str = canonicalize_name(req.name)
    if req.extras:
        out += "[" + ",".join(sorted(canonicalize_name(e) for e in req.extras)) + "]"
    if req.url:
        out += f" @ {req.url}"
    elif req.specifier:
        out += ",".join(sorted(str(s) for s in req.specifier))
    if req.marker:
        out += f"; {req.marker}"
    return out


@lru_cache(maxsize=65536)
def requirement_name(text: str) -> str:
    """The canonical project name of one requirement string (memoized: ``extends`` merges ask
    for the same parent requirements once per descendant)."""
    return canonicalize_name(Requirement(text).name)


def normalize_requirements(requirements: Iterable[str]) -> tuple[str, ...]:
    """Canonical, de-duplicated, order-insensitive form of user requirement strings (for keys)."""
    parts: set[str] = set()
    for text in requirements:
        parts.update(canonical_requirement(r) for r in split_requirements(text))
    return tuple(sorted(parts))


def direct_urls(texts: Iterable[str]) -> list[str]:
    """The direct URLs (``name @ URL``) in user requirement strings; unparsable text is skipped
    (the schema reports it)."""
    urls = []
    for text in texts:
        try:
            urls += [url for r in split_requirements(text) if (url := Requirement(r).url)]
        except (RequirementError, InvalidRequirement):
            continue
    return urls
