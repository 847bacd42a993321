"""The ``notifications`` WebSocket channel: the caller's own feed only, a snapshot, then
each new notice with its unread count; muted kinds are not sent."""

from __future__ import annotations

import time

from augury.api.ws.notifications import POLL_S
from tests.api.conftest import Server
from tests.api.helpers import create_market, ok, place
from tests.api.test_ws import recv, send, socket, subscribe


def test_the_channel_sends_my_new_notices_only(any_server: Server) -> None:
    server = any_server
    mid = create_market(server.admin())["id"]
    bob_name, bob = server.user("wnb")
    carol_name, carol = server.user("wnc")
    key = bob.post("/auth/api-keys", json={"name": "ws", "scopes": ["read"]}).json()["key"]
    place(bob, market=mid, side="buy", price="0.5", qty="4")
    place(carol, market=mid, side="buy", token="no", price="0.5", qty="1")  # bob's first fill

    with socket(server, {"X-API-Key": key}) as ws:
        answer = subscribe(ws, "notifications")
        assert answer["channel"] == f"notifications:{bob_name}" and answer["seq"] == 0
        snapshot = answer["snapshot"]
        assert snapshot["unread"] == 1 and [n["kind"] for n in snapshot["items"]] == ["fill"]

        place(carol, market=mid, side="buy", token="no", price="0.5", qty="2")
        message = recv(ws)
        assert (message["type"], message["seq"], message["unread"]) == ("notification", 1, 2)
        assert message["notification"]["kind"] == "fill"
        assert "filled 2 at 0.5" in message["notification"]["text"]

        ok(bob.put("/notifications/settings", json={"muted": ["fill"]}))
        place(carol, market=mid, side="buy", token="no", price="0.5", qty="1")  # muted
        ok(bob.get("/notifications"))  # the read models have it (a barrier) ...
        time.sleep(3 * POLL_S)  # ... and the channel's poll has been past it
        server.admin().post(f"/markets/{mid}/halt", json={"reason": "ws test"})
        halted = recv(ws)  # the muted fill was never sent
        assert halted["notification"]["kind"] == "market_halted" and halted["seq"] == 2
        assert halted["unread"] == 1  # fills are muted: not counted either

        send(ws, "subscribe", f"notifications:{carol_name}")  # only ever "notifications"
        refused = recv(ws)
        assert (refused["type"], refused["code"]) == ("error", "validation_error")

    with socket(server) as anonymous:
        send(anonymous, "subscribe", "notifications")
        refused = recv(anonymous)
        assert (refused["type"], refused["code"]) == ("error", "unauthorized")
