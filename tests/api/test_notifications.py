"""The notification feed end to end: fills, a system close, a halt and a login from a
new place reach the right accounts; paging, unread filter and count, marking read,
settings per kind, problems on bad input. On SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.api.conftest import PASSWORD, Server, assert_problem
from tests.api.helpers import create_market, ok, place


def feed(client: httpx.Client, **params: object) -> dict[str, object]:
    found: dict[str, object] = ok(client.get("/notifications", params=params))
    return found


def kinds(page: dict[str, object]) -> list[str]:
    items = page["items"]
    assert isinstance(items, list)
    return [item["kind"] for item in items]


def test_fills_halts_and_system_closes_reach_their_owners(any_server: Server) -> None:
    server = any_server
    admin = server.admin()
    mid = create_market(admin)["id"]
    _, bob = server.user("bob")
    _, carol = server.user("carol")
    _, dan = server.user("dan")
    place(bob, market=mid, side="buy", price="0.6", qty="10")
    place(carol, market=mid, side="buy", token="no", price="0.4", qty="4")  # fills 4 of bob's
    bob_feed, carol_feed = feed(bob), feed(carol)
    assert kinds(bob_feed) == ["fill"] and kinds(carol_feed) == ["fill"]
    assert bob_feed["unread"] == 1
    (notice,) = bob_feed["items"]  # type: ignore[misc]
    assert "filled 4 at 0.6" in notice["text"] and notice["market"] == mid
    assert notice["read"] is False and notice["id"].startswith("j")
    assert "filled 4 at 0.4" in carol_feed["items"][0]["text"]  # type: ignore[index]
    assert kinds(feed(dan)) == []  # nothing of dan's

    ok(admin.post(f"/markets/{mid}/halt", json={"reason": "checking the source"}))
    bob_kinds = kinds(feed(bob))
    assert bob_kinds == ["market_halted", "fill"]
    assert "checking the source" in feed(bob)["items"][0]["text"]  # type: ignore[index]
    assert kinds(feed(dan)) == []  # dan holds nothing there


def test_paging_unread_and_marking_read(any_server: Server) -> None:
    server = any_server
    admin = server.admin()
    mid = create_market(admin)["id"]
    _, bob = server.user("bob")
    _, carol = server.user("carol")
    place(bob, market=mid, side="buy", price="0.5", qty="10")
    for _ in range(5):  # five fills of bob's resting order
        place(carol, market=mid, side="buy", token="no", price="0.5", qty="1")
    first = feed(bob, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"] and first["unread"] == 5  # type: ignore[arg-type]
    seen = [item["id"] for item in first["items"]]  # type: ignore[attr-defined]
    cursor = first["next_cursor"]
    while cursor:
        page = feed(bob, limit=2, cursor=cursor)
        seen += [item["id"] for item in page["items"]]  # type: ignore[attr-defined]
        cursor = page["next_cursor"]
    assert len(seen) == 5 == len(set(seen))
    assert ok(bob.post(f"/notifications/{seen[0]}/read")) == {"unread": 4}
    assert ok(bob.post(f"/notifications/{seen[0]}/read")) == {"unread": 4}  # twice: harmless
    unread = feed(bob, unread="true")
    assert seen[0] not in [item["id"] for item in unread["items"]]  # type: ignore[attr-defined]
    assert len(unread["items"]) == 4  # type: ignore[arg-type]
    assert ok(bob.get("/notifications/unread")) == {"unread": 4}
    assert ok(bob.post("/notifications/read")) == {"unread": 0}
    assert feed(bob, unread="true")["items"] == []
    assert all(item["read"] for item in feed(bob)["items"])  # type: ignore[attr-defined]
    place(carol, market=mid, side="buy", token="no", price="0.5", qty="1")
    assert ok(bob.get("/notifications/unread")) == {"unread": 1}  # later ones are unread
    # somebody else's notice, or none at all: 404; a malformed id or cursor: 422
    carol_id = feed(carol)["items"][0]["id"]  # type: ignore[index]
    assert_problem(bob.post(f"/notifications/{carol_id}/read"), 404, "not_found")
    assert_problem(bob.post("/notifications/j999999.0.0/read"), 404, "not_found")
    assert_problem(bob.post("/notifications/x1/read"), 422, "invalid_notification_id")
    assert_problem(bob.get("/notifications", params={"cursor": "nope"}), 422, "invalid_cursor")


def test_settings_mute_a_kind(any_server: Server) -> None:
    server = any_server
    admin = server.admin()
    mid = create_market(admin)["id"]
    _, bob = server.user("bob")
    _, carol = server.user("carol")
    settings = ok(bob.get("/notifications/settings"))["kinds"]
    assert settings["fill"] is True and set(settings) >= {"new_login", "market_held", "decision"}
    place(bob, market=mid, side="buy", price="0.5", qty="2")
    place(carol, market=mid, side="buy", token="no", price="0.5", qty="1")
    changed = ok(bob.put("/notifications/settings", json={"muted": ["fill", "dispute"]}))
    assert changed["kinds"]["fill"] is False and changed["kinds"]["market_closed"] is True
    assert changed["muted"] == ["fill", "dispute"]
    assert feed(bob)["items"] == [] and ok(bob.get("/notifications/unread")) == {"unread": 0}
    ok(bob.put("/notifications/settings", json={"muted": []}))
    assert kinds(feed(bob)) == ["fill"]
    for bad in ({"muted": ["fills"]}, {"muted": "fill"}, {"kinds": {"fill": False}}):
        assert_problem(bob.put("/notifications/settings", json=bad), 422, "validation_error")
    assert ok(bob.get("/notifications/settings"))["muted"] == []  # nothing changed


def test_a_login_from_a_new_place(any_server: Server) -> None:
    server = any_server
    name, first = server.user("eve")  # the first login: nothing to compare with
    assert kinds(feed(first)) == []
    server.login(name)  # the same place again (httpx's user agent, 127.0.0.1)
    assert kinds(feed(first)) == []
    other = server.client(headers={"User-Agent": "Mozilla/5.0 (elsewhere)"})
    answer = other.post("/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200
    page = feed(first)
    assert kinds(page) == ["new_login"]
    (notice,) = page["items"]  # type: ignore[misc]
    assert "127.0.0.1" in notice["text"] and "elsewhere" in notice["text"]
    assert notice["id"].startswith("a") and notice["market"] is None
    ok(first.post(f"/notifications/{notice['id']}/read"))
    assert ok(first.get("/notifications/unread")) == {"unread": 0}


def test_the_feed_needs_a_login(server: Server) -> None:
    assert_problem(server.client().get("/notifications"), 401, "unauthorized")
