"""Read-your-writes across API nodes: the ``Augury-Seq`` and ``Augury-Min-Seq`` headers.

Every answer to a request that ran a command carries ``Augury-Seq``: the journal seq of
its (last) command. A request that names ``Augury-Min-Seq: N`` (the SDK sends the
highest seq it has seen; a browser the ``augury_seq`` cookie this middleware sets after
a write) is served only once this node's state holds seq N: it waits at most
``min_seq_wait_s``, then answers 503 ``replica_behind`` with ``Retry-After`` (and
changes nothing). On one ``augury serve`` process the state always holds what was
acknowledged, so the header costs nothing there.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from augury.api.errors import problem
from augury.roles.written import WRITTEN, Written

SEQ_HEADER = b"augury-seq"
MIN_SEQ_HEADER = b"augury-min-seq"
SEQ_COOKIE = "augury_seq"
SEQ_MAX = 2**63 - 1
REPLICA_BEHIND = "replica_behind"


def min_seq_of(scope: Scope) -> int | None:
    """The seq a request asks for (header first, then the cookie); None if none. A
    malformed value is ignored (no seq asked), never an error of its own."""
    cookie = b""
    for name, value in scope.get("headers", ()):
        if name == MIN_SEQ_HEADER:
            return _parse(value.decode("latin-1"))
        if name == b"cookie":
            cookie = value
    if SEQ_COOKIE.encode() not in cookie:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie.decode("latin-1"))
    except Exception:
        return None
    morsel = jar.get(SEQ_COOKIE)
    return _parse(morsel.value) if morsel is not None else None


def _secure_cookies(scope: Scope) -> bool:
    settings = getattr(scope["app"].state, "settings", None)
    return bool(settings is not None and settings.secure_cookies)


def _parse(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit() or len(text) > 19:
        return None
    seq = int(text)
    return seq if 0 < seq <= SEQ_MAX else None


class SeqMiddleware:
    """Waits for ``Augury-Min-Seq``; adds ``Augury-Seq`` (and the browser's cookie)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        wanted = min_seq_of(scope)
        if wanted is not None and scope["type"] == "http":
            services: Any = getattr(scope["app"].state, "services", None)
            if services is not None:
                timeout = services.settings.min_seq_wait_s
                if not await services.wait_for_seq(wanted, timeout):
                    response = problem(
                        503,
                        REPLICA_BEHIND,
                        f"this node has not reached seq {wanted} yet; retry shortly",
                        headers={"Retry-After": "1"},
                    )
                    await response(scope, receive, send)
                    return
        written = Written()  # Services.submit_raw notes each command's seq in it
        token = WRITTEN.set(written)
        browser = any(name == b"cookie" for name, _ in scope.get("headers", ()))
        secure = "; Secure" if browser and _secure_cookies(scope) else ""

        async def with_seq(message: Message) -> None:
            if message["type"] == "http.response.start" and written.seq:
                headers = list(message.get("headers", ()))
                headers.append((SEQ_HEADER, str(written.seq).encode()))
                if browser:
                    cookie = (
                        f"{SEQ_COOKIE}={written.seq}; Path=/; Max-Age=60; HttpOnly; "
                        f"SameSite=Lax{secure}"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, with_seq)
        finally:
            WRITTEN.reset(token)
