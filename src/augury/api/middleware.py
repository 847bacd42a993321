"""The middleware of the app's own: the body cap (``BodyLimit``) and the headers every
answer carries (``SecurityHeaders``).

``create_app`` stacks them with the rate limits (``ratelimit``), ``Augury-Seq``
(``seq``) and the target check (``clean_target``); ``hot_lane`` applies the same code
to the hot routes in one step.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from augury.api import errors

API_PREFIX = "/api/v1"
NO_STORE = (b"cache-control", b"no-store")


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body may be at most {limit} bytes")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (413), declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.declared_over(scope):
            response = errors.problem(
                413,
                errors.BODY_TOO_LARGE,
                f"the request body may be at most {self.max_bytes} bytes",
                instance=scope.get("path", ""),
            )
            await response(scope, receive, send)
            return
        await self.app(scope, self.limited(receive), send)

    def declared_over(self, scope: Scope) -> bool:
        """Whether a ``content-length`` header declares more than ``max_bytes`` (or
        is not a number): refused before anything is read."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    return True
        return False

    def limited(self, receive: Receive) -> Receive:
        """``receive``, raising ``BodyTooLarge`` once more than ``max_bytes`` came."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return limited


class SecurityHeaders:
    """Headers every response carries (no sniffing, no framing, no caching of API data)."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                self.add(scope, headers)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)

    @classmethod
    def add(cls, scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
        """Append the headers to an answer's ``headers`` (``hot_lane`` uses it too)."""
        headers.extend(cls.HEADERS)
        if scope.get("path", "").startswith(API_PREFIX):
            headers.append(NO_STORE)
