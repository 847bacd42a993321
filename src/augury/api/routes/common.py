"""Small pieces shared by the routers: the Idempotency-Key header, paging, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Query

from augury.api.deps import CurrentUser, ServicesDep
from augury.api.errors import IDEMPOTENCY_KEY_IN_FLIGHT, ApiError
from augury.settings import PAGE_SIZE_MAX

IDEMPOTENCY_KEY_LEN_MAX = 100
PAGE_SIZE_DEFAULT = 50


async def idempotency_key(
    principal: CurrentUser,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_LEN_MAX,
            pattern=r"^[\x21-\x7e]+$",
            description="Retry-safe key: the same key and body return the original result; "
            "the same key with another body is refused (idempotency_key_reused); a retry "
            "while the first request still runs gets 409 (idempotency_key_in_flight).",
        ),
    ] = None,
) -> AsyncIterator[str]:
    """The engine's idempotency key for this request ("" without the header).

    While a request holds a key, another request of the same account with the same key
    is refused with 409 (this process keeps the set; the engine does the rest).
    """
    if idempotency_key is None:
        yield ""
        return
    pair = (principal.account, idempotency_key)
    in_flight = services.in_flight
    if pair in in_flight:
        raise ApiError(
            409,
            IDEMPOTENCY_KEY_IN_FLIGHT,
            "a request with this Idempotency-Key is still running; retry shortly",
            headers={"Retry-After": "1"},
        )
    in_flight.add(pair)
    try:
        # Namespaced so a client key can never collide with the server's own keys.
        yield "h:" + idempotency_key
    finally:
        in_flight.discard(pair)


IdempotencyKey = Annotated[str, Depends(idempotency_key)]

Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="The next_cursor of the previous page.")
]


def page(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
