"""``GET /api/v1/ledger``: public, integer micros, the journal seq, and the equation.

The session's server is shared with other tests, so the test compares what its own
commands change (a registration's grant, an order's escrow, a maker's subsidy) rather
than absolute totals, and checks the equation on every answer.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Server
from tests.api.helpers import create_market, place

TOTALS = (
    "credits_minted", "balances", "order_escrow", "share_collateral", "dispute_bonds",
    "maker_cash", "maker_subsidy", "maker_result", "fees", "rounding",
)  # fmt: skip
HELD = ("balances", "order_escrow", "share_collateral", "dispute_bonds", "maker_cash", "fees",
        "rounding")  # fmt: skip
ONE = 1_000_000


def ledger(server: Server) -> dict[str, Any]:
    """The ledger, read with no credentials at all."""
    response = httpx.get(f"{server.base_url}/api/v1/ledger", timeout=30.0)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"seq", "conserved", "unit", *TOTALS}
    assert all(type(body[k]) is int for k in (*TOTALS, "seq")), body
    assert body["conserved"] is True and body["unit"] == "micros"
    assert sum(body[k] for k in HELD) == body["credits_minted"]  # the equation
    assert body["maker_result"] == body["maker_cash"] - body["maker_subsidy"]
    return body


def test_the_ledger_is_public_and_follows_the_journal(any_server: Server) -> None:
    server = any_server
    first = ledger(server)
    head = httpx.get(f"{server.base_url}/api/v1/journal").json()["head_seq"]
    assert 0 < first["seq"] <= head
    _, ann = server.user("ann")  # registering grants 1,000 credits
    after_grant = ledger(server)
    assert after_grant["seq"] > first["seq"]
    assert after_grant["credits_minted"] - first["credits_minted"] == 1_000 * ONE
    assert after_grant["balances"] - first["balances"] == 1_000 * ONE
    market = create_market(server.admin(), liquidity="10")
    with_maker = ledger(server)
    assert with_maker["maker_subsidy"] - after_grant["maker_subsidy"] == 6_931_472
    place(ann, market=market["id"], side="buy", price="0.01", qty="10")  # rests: escrow
    resting = ledger(server)
    assert resting["order_escrow"] - with_maker["order_escrow"] == ONE // 10
    assert resting["credits_minted"] == with_maker["credits_minted"]
    assert resting["seq"] > with_maker["seq"]


def test_the_admin_page_shows_the_ledger(server: Server) -> None:
    admin = server.admin()
    web = httpx.Client(base_url=server.base_url, cookies=admin.cookies, timeout=30.0)
    before = ledger(server)
    page = web.get("/admin")
    after = ledger(server)
    assert page.status_code == 200, page.text
    assert 'id="ledger"' in page.text and '<span class="tag">conserved</span>' in page.text
    assert before["seq"] == after["seq"]  # nothing was journaled in between
    assert f"at journal seq {after['seq']}:" in page.text
    row = '<tr data-total="credits_minted"><td>Credits minted</td>'
    cells = page.text.split(row, 1)[1].split("</tr>", 1)[0]
    assert f'<td class="num">{after["credits_minted"]}</td>' in cells
    anonymous = httpx.get(f"{server.base_url}/admin", follow_redirects=False)
    assert anonymous.status_code == 303  # the page is the admins'; the API is public
    web.close()
