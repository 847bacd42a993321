"""The notification bell and page in a real browser: the count follows the live channel
(a login from a new place, then a fill), the page lists the notices, marks them read
and mutes a kind."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer
from tests.web.test_browser import MARKET, PASSWORD, shot, sign_up


def test_the_bell_counts_live_and_the_page_marks_read(page: Page, web_server: WebServer) -> None:
    username = sign_up(page)  # the browser's own login: the account's first place
    page.goto("/portfolio")
    bell, count = page.locator("#bell"), page.locator("#bell-count")
    expect(bell).to_be_visible()
    expect(count).to_be_hidden()
    with httpx.Client(base_url=web_server.base_url + "/api/v1", timeout=30) as api:
        login = api.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text  # another user agent: a new place
        expect(count).to_have_text("1")  # over the WebSocket, no reload
        api.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        order = {"market": MARKET, "side": "buy", "type": "market", "budget": "5"}
        placed = api.post("/orders", json=order)
        assert placed.status_code == 201 and placed.json()["status"] == "filled", placed.text
        # one notice per fill: the order may fill against the book and the maker (what
        # other tests left on the shared market decides), so the count is the server's
        unread = api.get("/notifications/unread").json()["unread"]
    assert unread >= 2
    expect(count).to_have_text(str(unread))
    expect(bell).to_have_attribute("aria-label", f"Notifications ({unread} unread)")

    bell.click()
    expect(page).to_have_url(f"{web_server.base_url}/notifications")
    feed = page.locator("#feed li")
    expect(feed).to_have_count(unread)
    expect(feed.nth(0)).to_contain_text("filled")
    expect(feed.nth(unread - 1)).to_contain_text("a login to your account from a new place")
    expect(page.locator("#unread-note")).to_have_text(f"({unread} unread)")
    shot(page, "notifications")

    feed.nth(unread - 1).get_by_role("button", name="Mark read").click()
    expect(count).to_have_text(str(unread - 1))
    page.get_by_label("Unread only").check()
    expect(feed).to_have_count(unread - 1)
    page.get_by_role("button", name="Mark all read").click()
    expect(count).to_be_hidden()
    expect(page.locator("#feed")).to_contain_text("Nothing here.")

    page.get_by_label("Unread only").uncheck()
    page.get_by_label("Fills").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#kinds-saved")).to_be_visible()
    expect(feed).to_have_count(1)  # the fill is muted: only the login is left
    page.reload()
    expect(page.get_by_label("Fills")).not_to_be_checked()
