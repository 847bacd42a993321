"""The web UI in a real browser: Chromium (headless) against a real server with the demo.

One trader's story runs as one test, in order: sign up, find a market, preview and
place an order, see it fill (trades, chart, position, portfolio), rest a limit order
amend and cancel it, get an error for a bad order, read the evidence trail. Other tests visit
the admin, create-market and API-key pages. Every main page is saved as a screenshot.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer, artifacts_dir

PASSWORD = "correct horse battery"
MARKET = "demo-ceasefire"
EDITED = "demo-myrnohrad-map"
PLANTED = ("fresh-4417", "fresh-4418")


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def sign_up(page: Page) -> str:
    username = f"web{uuid.uuid4().hex[:10]}"
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#logout")).to_contain_text(username)
    return username


def client_notice(web_server: WebServer, username: str) -> str:
    """The newest security notice of ``username``, as the API lists it."""
    with httpx.Client(base_url=web_server.base_url + "/api/v1") as client:
        login = client.post(
            "/auth/login",
            json={"username": username, "password": "another horse battery staple"},
        )
        assert login.status_code == 200, login.text
        notices = client.get("/auth/me").json()["security_notices"]
    assert notices, "a password change leaves a notice"
    detail: str = notices[0]["detail"]
    return detail


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#logout")).to_contain_text(username)


def _trade_as_new_user(web_server: WebServer, budget: str, market: str = MARKET) -> None:
    """Register someone and buy YES in ``market`` for ``budget`` credits (over the API)."""
    with httpx.Client(base_url=web_server.base_url + "/api/v1", timeout=30) as api:
        username = f"bot{uuid.uuid4().hex[:10]}"
        credentials = {"username": username, "password": PASSWORD}
        assert api.post("/auth/register", json=credentials).status_code == 201
        api.headers["X-CSRF-Token"] = api.post("/auth/login", json=credentials).json()["csrf_token"]
        order = {"market": market, "side": "buy", "type": "market", "budget": budget}
        placed = api.post("/orders", json=order)
        assert placed.status_code == 201 and placed.json()["status"] == "filled", placed.text


def test_markets_list_search_and_phone_width(page: Page, web_server: WebServer) -> None:
    page.goto("/")
    rows = page.locator('.market-row[data-market^="demo-"]')  # other tests add markets
    expect(rows).to_have_count(15)  # fourteen stories (two scalar) and the edited-map replay
    expect(rows.first.locator("polyline")).to_have_count(1)  # the sparkline
    expect(rows.first.locator("[data-prob]")).to_have_text(re.compile(r"\d+(\.\d)?%"))
    shot(page, "markets")
    # live: another account's trade moves the row's probability without a reload
    row = page.locator(f'.market-row[data-market="{MARKET}"] [data-prob]')
    before = row.inner_text()
    _trade_as_new_user(web_server, "200")
    expect(row).not_to_have_text(before)
    page.get_by_label("Search questions").fill("ceasefire")
    page.get_by_label("Search questions").press("Enter")
    expect(page.locator(".market-row")).to_have_count(2)  # Russia-Ukraine and Gaza
    page.get_by_label("Category").select_option("economics")  # applies on change
    expect(page.locator(".market-row")).to_have_count(0)
    page.goto("/?sort=closing&status=open")
    expect(rows).to_have_count(13)  # two closed during the history
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the markets page scrolls sideways on a phone ({width}px)"
    shot(page, "markets-phone")


def test_a_trader_signs_up_trades_cancels_and_reads_the_evidence(page: Page) -> None:
    sign_up(page)
    # find the market
    page.get_by_label("Search questions").fill("Russia and Ukraine")
    page.get_by_label("Search questions").press("Enter")
    page.get_by_role("link", name=re.compile("general ceasefire")).click()
    expect(page).to_have_url(re.compile(f"/markets/{MARKET}$"))
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-ready", "yes")
    expect(page.locator("#asks tr").first).to_be_visible()
    expect(page.locator("#available")).to_have_text("1,000")
    expect(page.locator("#position")).to_contain_text("You hold nothing here")

    # preview, then place a market buy of YES for 25 credits
    page.get_by_label("Budget (credits)").fill("25")
    page.get_by_role("button", name="Preview").click()
    figures = page.locator("#preview-figures")
    expect(figures).to_contain_text("Would fill")
    expect(figures).to_contain_text("Cost")
    expect(figures).to_contain_text("25 credits")
    expect(figures).to_contain_text("Price impact")
    page.get_by_role("button", name="Place order").click()
    result = page.locator("#ticket-result")
    expect(result).to_contain_text("filled")
    expect(result).to_have_attribute("data-status", "filled")

    # it shows up live: the trade tape, the chart, my position and balance
    expect(chart).to_have_attribute("data-live", re.compile(r"[1-9]\d*"))
    expect(page.locator("#position")).to_contain_text("Yes")
    expect(page.locator("#position td").nth(1)).not_to_have_text("0")
    expect(page.locator("#available")).to_have_text(re.compile(r"^97[56](\.\d+)?$"))
    shot(page, "market")

    # a limit order far from the price rests on the book; cancel it
    page.get_by_label("Limit", exact=True).check()
    expect(page.get_by_label("Budget", exact=True)).to_be_disabled()
    page.get_by_label("Limit price (credits per share, 0–1)").fill("0.01")
    page.locator("#t-amount").fill("10")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-figures")).to_contain_text("Rests on the book")
    page.get_by_role("button", name="Place order").click()
    expect(result).to_contain_text("is on the book")
    book = page.locator("#book")
    expect(book).to_have_attribute("data-bids", re.compile(r"(^| )0\.01( |$)"))  # live
    # amend it: fewer shares at the same price keep its place (reduced in place)
    page.locator("#open-orders").get_by_role("button", name=re.compile("Amend order")).click()
    page.get_by_label(re.compile("New unfilled shares of order")).fill("4")
    page.locator("#open-orders").get_by_role("button", name="Save").click()
    expect(result).to_contain_text("reduced to 4 shares")
    expect(page.locator("#open-orders td").nth(2)).to_have_text("4")  # Shares
    cancel = page.locator("#open-orders").get_by_role("button", name=re.compile("Cancel order"))
    expect(cancel).to_have_count(1)
    cancel.click()
    expect(result).to_contain_text("cancelled")
    expect(page.locator("#open-orders")).to_contain_text("No open orders")
    expect(book).not_to_have_attribute("data-bids", re.compile(r"(^| )0\.01( |$)"))

    # a bad order is refused with a readable error, and nothing is placed
    page.get_by_label("Limit price (credits per share, 0–1)").fill("1.5")
    page.locator("#t-amount").fill("10")
    page.get_by_role("button", name="Preview").click()
    error = page.locator("#ticket-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("price")
    expect(page.get_by_role("button", name="Place order")).to_be_disabled()

    # the evidence trail section answers (no resolution activity in a fresh demo market)
    evidence = page.locator("#evidence")
    expect(evidence.locator("#evidence-status")).not_to_have_text("Loading…")
    entries = evidence.locator("#evidence-list li").count()
    if entries == 0:
        expect(evidence).to_contain_text("No resolution activity yet")
    expect(page.locator("#rules-h")).to_be_visible()
    expect(page.locator(".spec-words li").first).to_contain_text("sources agree")

    # the portfolio shows the position, its profit and the history
    page.get_by_role("link", name="Portfolio").click()
    expect(page.locator("#positions")).to_contain_text("general ceasefire")
    expect(page.locator("#positions")).to_contain_text("Yes")
    expect(page.locator("#history")).to_contain_text("taker")
    expect(page.locator("#balances")).to_contain_text(re.compile(r"97[56]"))
    expect(page.locator("#open-orders")).to_contain_text("No open orders")
    shot(page, "portfolio")


def test_the_portfolio_amends_an_open_order(page: Page, web_server: WebServer) -> None:
    """An open order amended from the portfolio: fewer shares at the same price in place,
    then a new price (replaced by another order); the API's answer is said."""
    username = _user_with_roles(web_server, "amend")
    with _api_as(web_server, username, PASSWORD) as api:
        order = {"market": MARKET, "side": "buy", "price": "0.02", "qty": "10"}
        placed = api.post("/orders", json=order)
        assert placed.status_code == 201 and placed.json()["status"] == "resting", placed.text
    log_in(page, username, PASSWORD)
    page.goto("/portfolio")
    orders, status = page.locator("#open-orders"), page.locator("#orders-status")
    orders.get_by_role("button", name=re.compile("Amend order")).click()
    page.get_by_label(re.compile("New unfilled shares of order")).fill("4")
    orders.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("reduced to 4 shares")
    orders.get_by_role("button", name=re.compile("Amend order")).click()
    page.get_by_label(re.compile("New price of order")).fill("0.03")
    orders.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("replaced by order")
    expect(orders.locator("td").nth(2)).to_contain_text("0.03")
    orders.get_by_role("button", name=re.compile("Amend order")).click()
    page.get_by_label(re.compile("New price of order")).fill("0.0301")
    orders.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("tick")  # the API's refusal, and the order stays
    expect(orders.get_by_role("button", name=re.compile("Cancel order"))).to_have_count(1)


def test_a_categorical_market_page(page: Page) -> None:
    page.goto("/markets/demo-pokrovsk-control")
    expect(page.locator("#chart")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#prices [data-outcome]")).to_have_count(3)
    expect(page.locator("#prices [data-outcome]").first).to_have_text(re.compile(r"\d"))
    expect(page.locator("#trades tr").first).to_be_visible()
    page.get_by_role("button", name="1d").click()
    expect(page.locator("#chart")).to_have_attribute("aria-label", re.compile("Price chart"))
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()  # no ticket logged out
    shot(page, "market-categorical")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#chart")).to_have_attribute("data-ready", "yes")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the market page scrolls sideways on a phone ({width}px)"
    shot(page, "market-phone")


def test_a_scalar_market_page(page: Page, web_server: WebServer) -> None:
    """The scalar demo market: its type, the expected value in ships next to LONG's
    price, the chart in ships (the server's implied values), the rules panel's range and
    payout line, and a trade that moves the chart, still in ships."""
    page.goto("/markets/demo-hormuz-transits")
    expect(page.locator("#market-type")).to_have_text("scalar")
    expect(page.locator("#chart")).to_have_attribute("data-ready", "yes")
    expect(page.locator("#chart")).to_have_attribute("aria-label", re.compile("in ships"))
    expect(page.locator("#chart-h")).to_have_text("Expected value (ships)")
    expect(page.locator("#implied-value")).to_have_text(re.compile(r"^[\d,.]+ ships$"))
    with httpx.Client(base_url=web_server.base_url + "/api/v1") as api:
        candles = api.get("/markets/demo-hormuz-transits/candles").json()["items"]
        quote = api.get("/markets/demo-hormuz-transits/quote").json()
    last = float(candles[-1]["implied"]["close"])  # the chart's last bar, in ships
    assert 0 < last < 3000
    bar = float(page.locator("#chart").get_attribute("data-last") or "nan")
    assert bar == last
    shown = page.locator("#implied-value").inner_text()
    assert shown == f"{float(quote['implied_value']):,.2f}".rstrip("0").rstrip(".") + " ships"
    expect(page.locator("#chart-legend")).to_contain_text("ships")
    rules = page.locator("#scalar-rules li")
    expect(rules.first).to_contain_text("Range: 0 to 3000 ships, in steps of 1 ships")
    expect(rules.nth(1)).to_contain_text("A LONG share pays (value - 0) / (3000 - 0) credits")
    expect(rules.nth(1)).to_contain_text("always pay exactly 1 credit")
    expect(page.locator(".spec-words")).to_contain_text("median of the independent owners")
    shot(page, "market-scalar")
    seen = page.locator("#chart").get_attribute("data-live") or "0"
    _trade_as_new_user(web_server, "300", market="demo-hormuz-transits")
    expect(page.locator("#chart")).not_to_have_attribute("data-live", seen)  # its fills
    with httpx.Client(base_url=web_server.base_url + "/api/v1") as api:  # LONG bought: up
        after = api.get("/markets/demo-hormuz-transits/candles").json()["items"][-1]
    expect(page.locator("#chart")).to_have_attribute("data-last", after["implied"]["close"])
    expect(page.locator("#chart-legend")).to_contain_text("ships")


def test_the_evidence_trail_renders_as_a_timeline(page: Page) -> None:
    """The page draws GET /markets/{id}/resolution's entries without the captures and
    the captures as runs of identical ones (both answered here by stubs), in journal
    order; a run of three captures is one row."""
    trail = {
        "market": MARKET,
        "spec": {"quorum": 2},
        "status": "proposed",
        "entries": [
            {
                "seq": 7002,
                "at": "2026-11-21T09:00:00Z",
                "kind": "proposal",
                "summary": "kestrel proposed No with a 100-credit bond",
                "details": {},
            },
        ],
        "next_cursor": None,
    }
    sha = "3f2a" + "0" * 60
    run = {
        "source_id": "wire", "ok": True, "value": "No", "content_sha256": sha, "size": 120,
        "http_status": 200, "error_code": "", "error": "", "change": None, "count": 3,
        "first_id": 7001, "last_id": 7005, "first_sha256": sha, "last_sha256": sha,
        "first_at": "2026-11-20T09:00:00Z", "last_at": "2026-11-20T11:00:00Z",
        "summary": "unchanged, 3 captures", "captures": "",
    }  # fmt: skip
    page.route(
        re.compile(rf".*/api/v1/markets/{MARKET}/resolution(\?.*)?$"),
        lambda route: route.fulfill(status=200, json=trail),
    )
    page.route(
        re.compile(rf".*/api/v1/markets/{MARKET}/observations/runs(\?.*)?$"),
        lambda route: route.fulfill(status=200, json={"items": [run], "next_cursor": None}),
    )
    page.goto(f"/markets/{MARKET}")
    items = page.locator("#evidence-list li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("observation")
    expect(items.first).to_contain_text("wire read No")
    expect(items.first).to_contain_text("Unchanged, 3 captures from")
    expect(items.first).to_have_attribute("data-run", "3")
    expect(items.first.locator("time").first).to_have_attribute("datetime", "2026-11-20T09:00:00Z")
    expect(items.nth(1)).to_contain_text("kestrel proposed No")
    expect(page.locator("#evidence-status")).to_contain_text("proposed")
    expect(page.locator("#evidence-status")).to_contain_text("3 observations in 1 row of")


def test_admin_grants_and_creates_a_market(page: Page, web_server: WebServer) -> None:
    log_in(page, "admin", web_server.admin_password)
    page.goto("/admin")
    page.get_by_label("Account").fill("admin")
    page.get_by_label("Amount (credits)").fill("50")
    page.get_by_role("button", name="Grant").click()
    expect(page.locator("#grant-form .result")).to_contain_text("Granted 50 credits to admin")
    page.get_by_label("Market", exact=True).select_option("demo-sudan-truce")
    page.get_by_role("button", name="Halt").click()
    expect(page.locator("#halt-form .result")).to_contain_text("halted")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#halt-form .result")).to_contain_text("open")
    page.get_by_label("Find a user").fill("admin")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#users-table tbody tr").first).to_contain_text("admin, market_creator")
    shot(page, "admin")

    page.get_by_role("link", name="Create").click()
    page.get_by_label("Question").fill("Will the browser test's market open?")
    page.get_by_label("Category").fill("testing")
    page.get_by_label("Closes (UTC)").fill("2030-01-01T00:00")
    page.get_by_role("button", name="Insert an example").click()
    page.get_by_role("button", name="Check the spec").click()
    expect(page.locator("#spec-findings li").first).to_be_visible()
    shot(page, "create")
    page.get_by_role("button", name="Create market").click()
    expect(page.locator("h1")).to_have_text("Will the browser test's market open?")
    expect(page.locator(".spec-words")).to_contain_text("2 of 2 sources agree")


def test_api_keys_page(page: Page, web_server: WebServer) -> None:
    username = sign_up(page)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("my bot")
    page.get_by_label("trade").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key code")).to_have_text(re.compile(r"^aug_"))
    key = page.locator("#new-key code").inner_text()
    me = httpx.get(web_server.base_url + "/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["scopes"] == ["read", "trade"]
    shot(page, "keys")
    page.get_by_role("button", name="Revoke key my bot").click()
    expect(page.locator("#keys")).to_contain_text("No keys yet")
    expect(page.locator("#notices")).to_contain_text("No notices")
    # a password change (here through the API) leaves a notice the owner sees here
    with httpx.Client(base_url=web_server.base_url + "/api/v1") as client:
        login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text
        changed = client.post(
            "/auth/password",
            json={"current_password": PASSWORD, "new_password": "another horse battery staple"},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        assert changed.status_code == 204, changed.text
    notice = client_notice(web_server, username)
    log_in(page, username, "another horse battery staple")  # the change ended the session
    page.goto("/keys")
    expect(page.locator("#notices li")).to_contain_text(notice)


def test_api_keys_page_registers_a_public_key(page: Page, web_server: WebServer) -> None:
    """The optional public key: the new key answers Kalshi-style signed requests."""
    from tests.api.kalshi.conftest import Trader, ed25519_pair
    from tests.api.kalshi.test_auth import signed_headers

    username = sign_up(page)
    page.get_by_role("link", name="API keys").click()
    private_pem, public_pem = ed25519_pair()
    page.get_by_label("Name").fill("kalshi bot")
    page.get_by_label("Public key (optional)").fill(public_pem)
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_contain_text("KALSHI-ACCESS-KEY")
    key_id = page.locator("#new-key code").nth(1).inner_text()
    path = "/trade-api/v2/portfolio/balance"
    headers = signed_headers(Trader(username, httpx.Client(), key_id, private_pem), "GET", path)
    assert httpx.get(web_server.base_url + path, headers=headers).status_code == 200


def test_pages_need_a_login_and_unknown_markets_are_404(web_server: WebServer) -> None:
    with httpx.Client(base_url=web_server.base_url) as client:
        assert client.get("/portfolio").headers["location"] == "/login?next=/portfolio"
        assert client.get("/markets/no-such-market").status_code == 404
        assert client.get("/login?next=//evil.example").text.count('data-next="/"') == 1
        vendor = client.get("/static/vendor/lightweight-charts.js")
        assert vendor.status_code == 200 and "LightweightCharts" in vendor.text[:200_000]
        assert client.get("/static/vendor/nothing.js").status_code == 404


def test_market_text_cannot_inject_markup(web_server: WebServer) -> None:
    """Questions and outcome names are the creator's text: escaped in HTML and in the
    page's JSON block (a closing script tag in an outcome cannot end it)."""
    with httpx.Client(base_url=web_server.base_url + "/api/v1") as api:
        login = api.post(
            "/auth/login", json={"username": "admin", "password": web_server.admin_password}
        )
        api.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        evil = "</script><script>window.pwned=1</script>"
        created = api.post(
            "/markets",
            json={
                "id": "web-xss",
                "type": "categorical",
                "question": "<img src=x onerror=alert(1)>?",
                "outcomes": ["A", evil, "C"],
                "close_time": "2031-01-01T00:00:00Z",
                "liquidity": "10",
            },
        )
        assert created.status_code == 201, created.text
    html = httpx.get(web_server.base_url + "/markets/web-xss").text
    assert "<script>window.pwned" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;?" in html
    assert "\\u003c/script\\u003e" in html  # the JSON block keeps the name, escaped


# -- resolution: the edited-map market, the console, a refusal ------------------------------
# These three run in this order against the one demo server: the refusal leaves the alert
# open, then an arbiter confirms it and votes.


@contextmanager
def _api_as(web_server: WebServer, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.base_url + "/api/v1", timeout=30) as api:
        login = api.post("/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.text
        api.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        yield api


def _user_with_roles(web_server: WebServer, prefix: str, *roles: str) -> str:
    username = f"{prefix}{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=web_server.base_url + "/api/v1", timeout=30) as api:
        credentials = {"username": username, "password": PASSWORD}
        assert api.post("/auth/register", json=credentials).status_code == 201
    with _api_as(web_server, "admin", web_server.admin_password) as admin:
        set_roles = admin.put(f"/admin/users/{username}/roles", json={"roles": ["trader", *roles]})
        assert set_roles.status_code == 200, set_roles.text
    return username


def test_the_edited_map_market_shows_its_evidence_trail(page: Page, web_server: WebServer) -> None:
    """The demo's edited map: the flip to B and its revert stand out, each with the hash
    of the bytes the source served (which the server hands back); the wire's failed fetch
    shows its HTTP status; the market is proposed A by the rules, held by the alert."""
    page.goto(f"/markets/{EDITED}")
    expect(page.locator("h1")).to_contain_text("Who holds Myrnohrad")
    expect(page.locator("#res-phase")).to_have_text(re.compile("proposed|held"))
    state = page.locator("#res-state")
    expect(state).to_contain_text("A holds the town by the rules")
    expect(state).to_contain_text("Challenge window ends")
    expect(page.locator("#res-holding")).to_contain_text("high longshot")
    for account in PLANTED:
        expect(page.locator("#res-holding")).to_contain_text(account)
    expect(page.locator("#rules-trades")).to_contain_text("v1")

    flip = page.locator("#evidence-list li.tl-flip")
    revert = page.locator("#evidence-list li.tl-revert")
    expect(flip).to_have_count(1)
    expect(revert).to_have_count(1)
    expect(flip).to_contain_text("Flip: map changed its answer from “A” to “B”")
    expect(flip).to_contain_text('controlled_by "A" → "B"')
    expect(revert).to_contain_text("Reverted: map back from “B” to “A” after 5 h")
    expect(page.locator("#evidence-list li.kind-alert")).to_contain_text("high longshot alert")
    failed = page.locator("#evidence-list li.tl-failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("HTTP 503")
    expect(page.locator("#evidence-list li.kind-proposal")).to_contain_text("A holds the town")
    # 120 observations, consecutive identical ones of a source collapsed into one row each
    runs = page.locator("#evidence-list li[data-run]")
    counts = [int(c) for c in runs.evaluate_all("items => items.map((i) => i.dataset.run)")]
    assert sum(counts) >= 120 and len(counts) < 20, counts
    long_run = runs.filter(has_text="Unchanged,").first
    expect(long_run).to_contain_text(re.compile(r"Unchanged, \d+ captures from"))
    long_run.get_by_text(re.compile(r"Show the \d+ captures")).click()
    shown = int(long_run.get_attribute("data-run") or "0")
    expect(long_run.locator(".captures li")).to_have_count(min(shown, 100))
    expect(long_run.locator(".captures li a.hash").first).to_be_visible()

    # each hash links to the raw bytes, which hash to it
    for item in (flip, revert):
        link = item.locator("a.hash")
        href = link.get_attribute("href") or ""
        found = re.fullmatch(r"/api/v1/evidence/([0-9a-f]{64})", href)
        assert found, href
        raw = httpx.get(web_server.base_url + href)
        assert raw.status_code == 200 and hashlib.sha256(raw.content).hexdigest() == found[1]
    assert b'"controlled_by": "A"' in httpx.get(web_server.base_url + href).content

    # "changes & decisions" leaves out the quiet observations
    page.get_by_role("button", name="Changes & decisions").click()
    expect(page.locator("#evidence-list li.tl-quiet")).to_have_count(0)
    expect(page.locator("#evidence-list li.tl-flip")).to_have_count(1)
    assert page.locator("#evidence-list li").count() < 20
    shot(page, "market-evidence")
    page.locator("#evidence").screenshot(path=str(artifacts_dir() / "evidence.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Everything").click()
    expect(page.locator("#evidence-list li.tl-flip")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the evidence trail scrolls sideways on a phone ({width}px)"


def test_a_refused_action_shows_the_apis_error(page: Page, web_server: WebServer) -> None:
    """An admin links an arbiter to the map's owner (admin page); that arbiter's review
    of the market's alert is refused as a conflict of interest, and the console says so."""
    conflicted = _user_with_roles(web_server, "arbx", "arbiter")
    log_in(page, "admin", web_server.admin_password)
    page.goto("/admin")
    page.get_by_label("Member to link", exact=True).fill(conflicted)
    page.get_by_label("Organization", exact=True).fill("Institute for Maps")
    page.get_by_role("button", name="Save affiliation").click()
    expect(page.locator("#affiliation-form .result")).to_contain_text("Institute for Maps")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    log_in(page, conflicted, PASSWORD)
    page.get_by_role("link", name="Console").click()
    expect(page.locator("h1")).to_have_text("Resolver & arbiter console")
    page.get_by_label("Market", exact=True).select_option(EDITED)
    row = page.locator("#alerts-list tr.alert-row", has_text="longshot")
    expect(row).to_have_count(1)
    row.get_by_label("Note").fill("looks fine to me")
    row.get_by_role("button", name=re.compile("Dismiss alert")).click()
    error = row.locator(".result.error")
    expect(error).to_contain_text("conflict_of_interest")
    expect(error).to_have_attribute("role", "alert")
    with _api_as(web_server, "admin", web_server.admin_password) as admin:
        alerts = admin.get("/alerts", params={"market": EDITED, "detector": "longshot"}).json()
        assert [a["verdict"] for a in alerts["items"]] == [""]  # still open


def test_an_arbiter_reviews_an_alert_and_votes_in_the_console(
    page: Page, web_server: WebServer
) -> None:
    arbiter = _user_with_roles(web_server, "arb", "arbiter")
    log_in(page, arbiter, PASSWORD)
    page.goto("/console")
    expect(page.locator("#alerts-status")).not_to_have_text("Loading…")
    page.get_by_label("Severity").select_option("high")
    page.get_by_label("Detector").select_option("longshot")
    row = page.locator("#alerts-list tr.alert-row", has_text=EDITED)
    expect(row).to_have_count(1)
    for account in PLANTED:
        expect(row).to_contain_text(account)
    expect(row).to_contain_text("holds")
    row.get_by_label("Note").fill("planted longshot buying an hour before the map was edited")
    row.get_by_role("button", name=re.compile("Confirm alert")).click()
    expect(row.locator(".result")).to_contain_text("confirmed by " + arbiter)

    page.reload()  # the market now waits for the arbiters
    market = page.locator(f"#to-vote li[data-market='{EDITED}']")
    expect(market).to_contain_text("held")
    market.get_by_label("A holds the town").check()
    market.get_by_label("Reason").fill("the wire never flipped; the map reverted")
    market.get_by_role("button", name="Vote").click()
    expect(market.locator(".result")).to_contain_text("Vote recorded")
    page.get_by_label("Status").select_option("")
    expect(page.locator("#alerts-list")).to_contain_text("confirmed by " + arbiter)
    shot(page, "console")

    page.goto(f"/markets/{EDITED}")
    expect(page.locator("#res-phase")).to_have_text("held")
    expect(page.locator("#res-state")).to_contain_text(f"{arbiter}: A holds the town")
    expect(page.locator("#evidence-list li.kind-alert_review")).to_contain_text("confirmed")
    expect(page.locator("#evidence-list li.kind-vote")).to_contain_text(arbiter)


def test_admin_clarifies_the_rules_and_voids_a_market(page: Page, web_server: WebServer) -> None:
    """A clarification (rules v2, hash-chained) from the market page, then the emergency
    void from the admin page, with its public reason in the market's story."""
    market = f"web-clar-{uuid.uuid4().hex[:6]}"
    with _api_as(web_server, "admin", web_server.admin_password) as admin:
        body = {
            "id": market, "question": "Will the clarification test pass?",
            "close_time": "2031-01-01T00:00:00Z", "liquidity": "10",
        }  # fmt: skip
        assert admin.post("/markets", json=body).status_code == 201
    log_in(page, "admin", web_server.admin_password)
    page.goto(f"/markets/{market}")
    page.get_by_text("Post a clarification of the rules").click()
    page.get_by_label("Clarification").fill("Only the official gazette counts.")
    page.get_by_label("Cancel resting orders").check()
    page.get_by_role("button", name="Post clarification").click()
    expect(page.locator("#clarify-form .ok")).to_contain_text("Posted as rules v2")
    clarifications = page.locator("#res-clarifications")
    expect(clarifications).to_contain_text("rules v2")
    expect(clarifications).to_contain_text("Only the official gazette counts.")
    expect(clarifications.locator("code").first).to_have_attribute(
        "title", re.compile(r"^[0-9a-f]{64}$")
    )
    expect(page.locator("#evidence-list li.kind-clarification")).to_contain_text(
        "resting orders cancelled"
    )

    page.goto("/admin")
    page.get_by_label("Market to decide").select_option(market)
    page.get_by_role("button", name="Void").click()
    result = page.locator("#override-form .result")
    expect(result).to_contain_text("public reason")  # required: nothing sent without it
    page.get_by_label("Public reason (required)").fill("the question was ambiguous")
    page.get_by_role("button", name="Void").click()
    expect(result).to_contain_text(f"{market} voided")
    page.goto(f"/markets/{market}")
    expect(page.locator("#evidence-list")).to_contain_text("the question was ambiguous")
    expect(page.locator("#res-phase")).to_have_text("final")
