"""The request target (path and query parameters) holds no character free text may not.

Request bodies are checked field by field (``augury.api.text``); this middleware applies
the one-line rule to the decoded path and to every query parameter's name and value of
every HTTP request (the API and the web pages alike), before any route runs. Without it
a NUL in ``/markets/{id}`` or ``?q=`` reached PostgreSQL, which cannot store one in a
text value, and the request failed with a 500. A refusal is 422 ``invalid_characters``
naming the parameter (or the path), and nothing runs.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from pydantic_core import PydanticCustomError
from starlette.types import ASGIApp, Receive, Scope, Send

from augury.api.errors import problem
from augury.api.text import INVALID_CHARACTERS, single_line


def _refusal(scope: Scope) -> str | None:
    """What is wrong with the target (a problem detail), or None."""
    path = str(scope.get("path", ""))
    raw_query: bytes = scope.get("query_string", b"")
    if not raw_query and path.isascii() and path.isprintable():
        return None  # printable ASCII holds none of the refused characters: the common case
    checks = [("path", path)]
    query = raw_query.decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        checks += [("query parameter name", name), (f"query parameter {name!r}", value)]
    for where, text in checks:
        try:
            single_line(text)
        except PydanticCustomError as exc:
            if where == "query parameter name":
                return f"a query parameter's name: {exc.message()}"
            return f"{where}: {exc.message()}"
    return None


class CleanTarget:
    """Refuse (422 ``invalid_characters``) a request whose path or query holds a control
    character, DEL, a C1 control, a bidirectional override or isolate, a line break or
    a tab, before the application sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = _refusal(scope) if scope["type"] == "http" else None
        if detail is None:
            await self.app(scope, receive, send)
            return
        response = problem(422, INVALID_CHARACTERS, detail, instance="")
        await response(scope, receive, send)
