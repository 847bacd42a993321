"""Where a page may send the browser next: only a path on this site (no open redirect).

``safe_next(value)`` is the one rule for every ``?next=`` the pages accept (the login
and sign-up pages, and the redirect of a logged-in visitor away from the login page).
A value is kept only if it, and every percent-decoding of it (decoded again and again
until nothing changes), is a same-origin path: it starts with exactly one ``/`` (never
``//`` or ``/\\``), holds no backslash, no control or invisible character and no
whitespace but the plain space, and parses with neither a scheme nor a host. Anything
else answers ``/``. Browsers treat ``\\`` as ``/`` and drop tabs and newlines inside a
URL, so ``/\\evil.example`` and ``/<TAB>/evil.example`` would leave the site; checking
the decoded forms too catches ``/%5Cevil.example`` and ``/%252F%252Fevil.example``.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

FALLBACK = "/"
NEXT_MAX = 2_000
"""A longer value is refused outright (the pages accept 200 characters anyway)."""
DECODINGS_MAX = 8
"""A value still changing after this many percent-decodings is refused."""
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
"""Control, format (zero-width), surrogate, private, unassigned and separator characters
(but the plain space, allowed below)."""


def _is_local_path(value: str) -> bool:
    if not value.startswith("/") or value[1:2] in ("/", "\\"):
        return False
    if "\\" in value:
        return False
    if any(ch != " " and unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_next(value: str) -> str:
    """``value`` if it is a path on this site in every decoding of it, else ``/``."""
    if len(value) > NEXT_MAX:
        return FALLBACK
    current = value
    for _ in range(DECODINGS_MAX):
        if not _is_local_path(current):
            return FALLBACK
        try:
            decoded = unquote(current, errors="strict")
        except UnicodeDecodeError:  # %FF and the like: not a path anyone links to
            return FALLBACK
        if decoded == current:
            return value
        current = decoded
    return FALLBACK
