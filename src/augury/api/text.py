"""Free text in requests: which characters may be stored, and the form it is stored in.

Every free-text field of every request body is one of the annotated types here, so a
question, a clarification, an outcome name, a reason or an organization is checked by
one rule:

- refused anywhere: C0 control characters (U+0000-U+001F) other than tab and newline,
  DEL (U+007F), C1 controls (U+0080-U+009F), the bidirectional embeddings, overrides
  and isolates (U+202A-U+202E, U+2066-U+2069) and lone surrogates (U+D800-U+DFFF, which
  JSON's ``\\ud800`` escapes can smuggle in);
- :data:`SingleLineText` (a question, a name, a reason) also refuses tab, newline and
  the Unicode line and paragraph separators (U+2028, U+2029);
- :data:`MultiLineText` (a description, rules, a clarification) takes tab and newline,
  with every CRLF turned into LF first (a lone CR is refused);
- accepted text is normalized to NFC, so "é" typed as e + U+0301 is stored as U+00E9,
  and length limits apply to the normalized text (annotate the length after the type:
  ``Annotated[SingleLineText, StringConstraints(max_length=200)]``).

:data:`VerbatimText` checks the characters like :data:`MultiLineText` but keeps the
text exactly as sent (no NFC, no CRLF change): for signed content, whose signature
covers the bytes. :data:`TextTree` applies the multi-line rule to every string (keys
and values) of a JSON object such as a resolution spec, naming the offending path.

A refusal is a validation error of type :data:`INVALID_CHARACTERS`, which the API
answers as problem+json with that ``code`` (``augury.api.errors``). Passwords are not
free text: they are never stored or shown (only their hash is) and are taken as sent.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

INVALID_CHARACTERS = "invalid_characters"
"""The validation error type, and the problem ``code``, of a refused character."""

_FORBIDDEN = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_MULTI_LINE_BAD = re.compile(f"[{_FORBIDDEN}]")
_SINGLE_LINE_BAD = re.compile(f"[{_FORBIDDEN}\t\n\u2028\u2029]")


def _what(char: str) -> str:
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return "a lone surrogate"
    if char in "\t\n\u2028\u2029":
        return "a line break or tab (the field is one line)"
    if point < 0x20 or point == 0x7F:
        return "a control character"
    if point <= 0x9F:
        return "a C1 control character"
    return "a bidirectional override or isolate"


def _refuse(text: str, bad: re.Pattern[str], where: str = "") -> None:
    found = bad.search(text)
    if found is None:
        return
    char = found.group()
    raise PydanticCustomError(
        INVALID_CHARACTERS,
        "{where}contains U+{point} ({what}) at character {index}; free text may not contain "
        "control characters, bidirectional overrides or isolates, or lone surrogates",
        {
            "where": f"{where}: " if where else "",
            "point": f"{ord(char):04X}",
            "what": _what(char),
            "index": found.start(),
        },
    )


def single_line(text: str) -> str:
    """One line of text, checked and in NFC (or a ``invalid_characters`` error)."""
    _refuse(text, _SINGLE_LINE_BAD)
    return unicodedata.normalize("NFC", text)


def multi_line(text: str) -> str:
    """Text that may hold newlines and tabs: CRLF as LF, checked, in NFC."""
    return _multi_line(text, "")


def _multi_line(text: str, where: str) -> str:
    text = text.replace("\r\n", "\n")
    _refuse(text, _MULTI_LINE_BAD, where)
    return unicodedata.normalize("NFC", text)


def verbatim(text: str) -> str:
    """Checked as multi-line text (CRLF allowed), kept exactly as sent."""
    _refuse(text.replace("\r\n", "\n"), _MULTI_LINE_BAD)
    return text


def text_tree(value: dict[str, Any]) -> dict[str, Any]:
    """A copy of a JSON object with every key and string value through :func:`multi_line`.

    Iterative (a stack, not recursion), so any nesting JSON decoding allows is fine;
    the error names the offending string's path (``$.sources[0].owner``).
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, str]] = [(value, root, 0, "$")]
    while stack:
        item, parent, slot, path = stack.pop()
        if isinstance(item, str):
            parent[slot] = _multi_line(item, path)
        elif isinstance(item, dict):
            copy: dict[str, Any] = {}
            parent[slot] = copy
            children = []
            for key, child in item.items():
                clean_key = _multi_line(key, f"{path} (a key)") if isinstance(key, str) else key
                copy[clean_key] = None
                children.append((child, copy, clean_key, f"{path}.{clean_key}"))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend(
                (child, items, i, f"{path}[{i}]") for i, child in reversed(list(enumerate(item)))
            )
        else:
            parent[slot] = item
    result: dict[str, Any] = root[0]
    return result


SingleLineText = Annotated[str, AfterValidator(single_line)]
"""One line of free text (a question, a name, a reason): see the module docstring."""

MultiLineText = Annotated[str, AfterValidator(multi_line)]
"""Free text that may hold newlines and tabs (a description, rules, a clarification)."""

VerbatimText = Annotated[str, AfterValidator(verbatim)]
"""Checked like :data:`MultiLineText`, stored as sent (signed statements)."""

TextTree = Annotated[dict[str, Any], AfterValidator(text_tree)]
"""A JSON object whose every string is checked and normalized like multi-line text."""
