"""Creator-supplied regular expressions: the one place they are compiled and run.

A market creator writes the ``regex`` an ``html`` source is read with, and the exchange
runs it over pages up to megabytes long, so a pattern is hostile input. Python's ``re``
backtracks: ``(a+)+$`` over a long run of ``a`` takes exponential time. Every creator
pattern is therefore compiled by RE2 (``google-re2``), whose matching time is linear in
the text whatever the pattern, with a memory budget (:data:`MAX_MEM_BYTES`) that bounds
the compiled program and so the compile time, and a length cap (:data:`PATTERN_CHARS_MAX`).

RE2 has no backtracking features: backreferences (``\\1``, ``(?P=name)``), lookahead and
lookbehind (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), atomic groups and possessive
quantifiers are refused, as is ``\\Z`` (write ``\\z`` or ``$``). ``\\d``, ``\\w``, ``\\s``
and ``\\b`` are ASCII-only (``\\pL``, ``\\pN`` match any letter or digit).

Pure: compiling and matching only (RE2 is told not to log), used by the linter (a
pattern RE2 refuses is a lint error) and by the readers.
"""

from __future__ import annotations

import re
from typing import Any

import re2  # type: ignore[import-untyped]

PATTERN_CHARS_MAX = 1_000
"""The longest pattern a source may have."""
MAX_MEM_BYTES = 256 << 10
"""RE2's memory budget per pattern: a larger program is refused ("pattern too large"),
which keeps the compile time of any pattern, accepted or not, to a few milliseconds (the
linter runs on the engine thread). ``[^<]{1000}`` fits; a run of such pieces does not."""


class PatternError(ValueError):
    """A pattern the exchange will not run. ``unsupported`` is True when Python's ``re``
    would accept it but it needs backtracking (RE2 refuses it); False when it does not
    compile at all, or is too long or too large."""

    def __init__(self, message: str, *, unsupported: bool) -> None:
        super().__init__(message)
        self.unsupported = unsupported


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the C++ library would write every refusal to stderr
    options.max_mem = MAX_MEM_BYTES
    return options


_OPTIONS = _options()


def _reason(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def compile_pattern(pattern: str) -> Any:
    """The RE2 program of ``pattern``, or :class:`PatternError` saying why not."""
    if len(pattern) > PATTERN_CHARS_MAX:
        raise PatternError(
            f"is {len(pattern)} characters long; at most {PATTERN_CHARS_MAX}", unsupported=False
        )
    try:
        return re2.compile(pattern, _OPTIONS)
    except (re2.error, UnicodeError) as exc:
        raise _refusal(pattern, _reason(exc)) from None


def _refusal(pattern: str, reason: str) -> PatternError:
    try:
        re.compile(pattern)  # only to tell a typo from a feature RE2 lacks
    except (re.error, RecursionError, OverflowError, ValueError):
        return PatternError(f"does not compile: {reason}", unsupported=False)
    if "too large" in reason:
        return PatternError(f"is too large for the linear-time engine: {reason}", unsupported=False)
    return PatternError(
        f"needs a feature the linear-time engine (RE2) does not have ({reason}); "
        "backreferences, lookahead/lookbehind, atomic groups, possessive quantifiers and "
        "\\Z are not supported",
        unsupported=True,
    )


def pattern_problem(pattern: str) -> PatternError | None:
    """Why ``pattern`` is refused, or None when RE2 runs it."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return exc
    return None


def first_group_or_match(pattern: str, text: str) -> str | None:
    """The first group of the first match of ``pattern`` in ``text`` (the whole match if
    the pattern has no group or the group did not take part); None if nothing matches.
    Raises :class:`PatternError` for a refused pattern."""
    program = compile_pattern(pattern)
    found = program.search(text)
    if found is None:
        return None
    if program.groups and found.group(1) is not None:
        return str(found.group(1))
    return str(found.group(0))
