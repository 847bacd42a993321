"""Scores in a real browser: the calibration chart, the leaderboard and its switches, the
resolved markets' scores, a trader's page; the portfolio's settlements and realized
profit once a market the user traded resolves.

The seeded demo has no resolved market (the Bank of Korea market closes during the
history and waits for a resolver), so ``resolved_demo`` resolves it (No, the story's
answer) through the admin API, as an operator's emergency decision would.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import WebServer, artifacts_dir

PASSWORD = "correct horse battery"
KOREA = "demo-korea-base-rate"
SCORE = re.compile(r"^\d\.\d{3}$")


@contextmanager
def _admin(web_server: WebServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.base_url + "/api/v1", timeout=30) as api:
        credentials = {"username": "admin", "password": web_server.admin_password}
        login = api.post("/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        api.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        yield api


def _resolve(web_server: WebServer, market: str, outcome: int, reason: str) -> None:
    with _admin(web_server) as admin:
        if admin.get(f"/markets/{market}").json()["status"] == "resolved":
            return
        body = {"outcome": outcome, "reason": reason}
        answer = admin.post(f"/markets/{market}/resolve", json=body)
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def resolved_demo(web_server: WebServer) -> str:
    _resolve(web_server, KOREA, 1, "the Bank of Korea held its rate (browser test)")
    return KOREA


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def test_the_portfolio_shows_a_settlement_and_realized_profit(
    page: Page, web_server: WebServer
) -> None:
    market = f"web-settle-{uuid.uuid4().hex[:6]}"
    question = "Will the settlement test pay out?"
    with _admin(web_server) as admin:
        body = {
            "id": market, "question": question, "close_time": "2031-01-01T00:00:00Z",
            "liquidity": "50",
        }  # fmt: skip
        assert admin.post("/markets", json=body).status_code == 201
    username = f"web{uuid.uuid4().hex[:10]}"
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#logout")).to_contain_text(username)

    page.goto(f"/markets/{market}")
    page.get_by_label("Budget (credits)").fill("20")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-figures")).to_contain_text("Would fill")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#ticket-result")).to_have_attribute("data-status", "filled")
    expect(page.locator("#market-scores")).to_have_count(0)  # open: nothing to score

    page.goto("/portfolio")
    expect(page.locator("#settlements")).to_contain_text("No settlements yet")
    pnl = page.locator("#pnl")
    expect(pnl.locator("tr", has_text=question)).to_contain_text("open")
    expect(page.locator("#my-scores [data-role=status]")).to_contain_text("No settled market")

    _resolve(web_server, market, 0, "it paid out (browser test)")

    page.reload()
    settlement = page.locator("#settlements tr", has_text=question)
    expect(settlement).to_contain_text("Payout")
    expect(settlement.locator("td").nth(3)).to_have_text(re.compile(r"^\+\d+(\.\d+)?$"))
    row = pnl.locator("tr", has_text=question)
    expect(row).to_contain_text("resolved")
    realized = row.locator("td").nth(7)
    expect(realized).to_have_text(re.compile(r"^\+\d+(\.\d+)?$"))  # bought YES at about 0.6
    expect(page.locator("#realized-total")).to_have_text(re.compile(r"^\+"))
    expect(page.locator("#balances")).to_contain_text("Realized P/L")
    expect(page.locator("#positions")).not_to_contain_text(question)  # paid out, not held

    scores = page.locator("#my-scores")
    expect(scores).to_have_attribute("data-loaded", "yes")
    expect(scores.locator("[data-role=stats]")).to_contain_text("Profit")
    expect(scores.locator("[data-role=stats] dd").first).to_have_text(realized.inner_text())
    expect(scores.locator("figure.cal-figure")).to_have_attribute("data-points", "1")
    expect(scores.locator("circle.cal-point")).to_have_count(1)
    shot(page, "portfolio-settled")

    page.goto(f"/markets/{market}")
    box = page.locator("#market-scores")
    expect(box).to_have_attribute("data-loaded", "yes")
    expect(box).to_contain_text("Resolved Yes")
    expect(box.locator("dd").nth(1)).to_have_text(SCORE)  # Brier at close


def test_the_scores_page(page: Page, web_server: WebServer, resolved_demo: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Scores").click()
    expect(page).to_have_url(re.compile("/scores$"))
    expect(page.locator("h1")).to_have_text("Scores")

    # calibration: the diagonal and a point per non-empty bucket, labelled with its count
    figure = page.locator("#calibration figure.cal-figure")
    expect(figure).to_have_attribute("data-predictions", re.compile(r"^([2-9]\d|\d{3,})$"))
    points = int(figure.get_attribute("data-points") or 0)
    assert points >= 1
    expect(figure.locator("line.cal-diag")).to_have_count(1)
    expect(figure.locator("circle.cal-point")).to_have_count(points)
    expect(figure.locator("text.cal-count")).to_have_count(points)
    expect(figure.locator("svg")).to_have_attribute("role", "img")
    expect(figure.locator("desc")).to_contain_text("predicted")
    expect(page.locator("#calibration-status")).to_contain_text("resolved market")
    calibration = httpx.get(web_server.base_url + "/api/v1/scoring/calibration").json()
    assert points == sum(1 for b in calibration["buckets"] if b["count"])

    # the leaderboard, by profit over all time, as the API ranks it
    table = page.locator("#leaderboard-table")
    expect(table).to_have_attribute("data-by", "profit")
    expect(table).to_have_attribute("data-window", "all")
    board = httpx.get(web_server.base_url + "/api/v1/leaderboard?by=profit&window=all").json()
    assert board["items"], board
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(board["items"]))
    first = board["items"][0]["account"]
    expect(rows.first.locator("td").nth(1)).to_have_text(first)
    expect(rows.first.get_by_role("link", name=first)).to_have_attribute(
        "href", f"/scores/traders/{first}"
    )

    # the switches: by score, then the windows (the demo's resolution is minutes old)
    page.get_by_role("button", name="Score", exact=True).click()
    expect(table).to_have_attribute("data-by", "score")
    expect(page.get_by_role("button", name="Score", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page).to_have_url(re.compile(r"by=score"))
    expect(page.locator("#lb-help")).to_contain_text("edge")
    by_score = httpx.get(web_server.base_url + "/api/v1/leaderboard?by=score").json()["items"]
    expect(rows).to_have_count(len(by_score))
    page.get_by_role("button", name="7 days").click()
    expect(table).to_have_attribute("data-window", "7d")
    expect(table).to_have_attribute("data-by", "score")
    expect(rows).to_have_count(len(by_score))
    page.get_by_role("button", name="Profit").click()
    expect(table).to_have_attribute("data-by", "profit")
    expect(page).to_have_url(re.compile(r"by=profit&window=7d"))
    expect(rows.first.locator("td").nth(1)).to_have_text(first)
    page.get_by_role("button", name="30 days").click()
    expect(table).to_have_attribute("data-window", "30d")
    page.reload()  # the switches live in the address
    expect(table).to_have_attribute("data-window", "30d")
    expect(page.get_by_role("button", name="30 days")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="All time").click()
    expect(table).to_have_attribute("data-window", "all")

    # the resolved markets with their scores
    korea = page.locator(f"#resolved-markets tr[data-market='{KOREA}']")
    expect(korea).to_have_attribute("data-scored", "yes")
    expect(korea.locator("[data-cell=outcome]")).to_have_text("No")
    for cell in ("brier_close", "brier_time_avg", "log_close", "log_time_avg"):
        expect(korea.locator(f"[data-cell={cell}]")).to_have_text(SCORE)
    scored = httpx.get(web_server.base_url + f"/api/v1/scoring/markets/{KOREA}").json()
    expect(korea.locator("[data-cell=brier_close]")).to_have_text(
        f"{float(scored['brier_close']):.3f}"
    )
    shot(page, "scores")

    # no sideways scrolling on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#leaderboard-table")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the scores page scrolls sideways on a phone ({width}px)"
    page.set_viewport_size({"width": 1280, "height": 900})

    # a leaderboard row leads to the trader's page
    page.reload()
    page.locator("#leaderboard-table tbody tr").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/scores/traders/{first}$"))
    expect(page.locator("h1")).to_have_text(first)
    panel = page.locator(".trader-panel")
    expect(panel).to_have_attribute("data-loaded", "yes")
    expect(panel.locator("[data-role=stats]")).to_contain_text("Profit")
    expect(panel.locator("figure.cal-figure circle.cal-point").first).to_be_visible()
    page.get_by_role("button", name="7 days").click()
    expect(panel).to_have_attribute("data-window", "7d")
    shot(page, "trader")

    # the resolved demo market's own page shows its scores
    page.goto(f"/markets/{KOREA}")
    box = page.locator("#market-scores")
    expect(box).to_have_attribute("data-loaded", "yes")
    expect(box).to_contain_text("Resolved No")
    expect(box).to_contain_text("Brier time-averaged")
    expect(box.locator("dd").nth(2)).to_have_text(f"{float(scored['brier_time_avg']):.3f}")


def test_an_unknown_trader(page: Page) -> None:
    page.goto("/scores/traders/nobody-here")
    expect(page.locator(".trader-panel [data-role=status]")).to_contain_text(
        "There is no trader “nobody-here”"
    )
