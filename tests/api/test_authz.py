"""Function-level authorization: every role-restricted route refuses a plain trader.

The list of restricted routes is checked against the OpenAPI document, so a new admin
route that is not added here fails this test instead of going untested.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server, assert_problem
from tests.api.helpers import CLOSE, create_market

RESTRICTED: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/markets", {"question": "q?", "close_time": CLOSE}),
    ("POST", "/markets/{market}/halt", {}),
    ("POST", "/markets/{market}/resume", {}),
    ("POST", "/admin/grants", {"account": "admin", "amount": "1"}),
    ("PUT", "/admin/users/{username}/roles", {"roles": ["admin"]}),
    ("GET", "/admin/users", {}),
    ("POST", "/admin/clock", {"seconds": 60}),
    ("POST", "/admin/affiliations", {"account": "admin", "organization": "Wire Agency"}),
    ("POST", "/markets/{market}/resolve", {"outcome": 0, "reason": "because"}),
    ("POST", "/markets/{market}/void", {"reason": "because"}),
    ("POST", "/markets/{market}/spec", {"spec": {}}),
    ("POST", "/markets/{market}/clarifications", {"text": "it means this"}),
    ("POST", "/markets/{market}/observe", {}),
    ("GET", "/observe-jobs/{job_id}", {}),
    ("POST", "/markets/{market}/proposals", {"outcome": 0, "bond": "100"}),
    ("POST", "/markets/{market}/votes", {"outcome": 0}),
    ("GET", "/alerts", {}),
    ("POST", "/alerts/{alert_id}/review", {"verdict": "dismiss"}),
]
ROLE_MARK = re.compile(r"\((?:[a-z_]+, )*(?:admin|resolver|arbiter|creator|market_creator)\)$")


def _restricted_in_openapi(server: Server) -> set[tuple[str, str]]:
    spec = httpx.get(server.base_url + "/openapi.json").json()
    found = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            summary = operation.get("summary", "")
            if ROLE_MARK.search(summary) or "market_creator" in summary:
                found.add((method.upper(), path.removeprefix("/api/v1")))
    return found


def test_the_list_covers_every_restricted_route(server: Server) -> None:
    listed = {(method, path) for method, path, _ in RESTRICTED}
    assert _restricted_in_openapi(server) == listed


@pytest.mark.parametrize(("method", "path", "body"), RESTRICTED)
def test_a_trader_is_refused(server: Server, method: str, path: str, body: dict[str, Any]) -> None:
    market = create_market(server.admin())["id"]
    username, trader = server.user("t")
    url = path.format(market=market, username=username, alert_id=1, job_id="0" * 24)
    assert_problem(trader.request(method, url, json=body), 403, "forbidden")
    # the same with the trader's API key carrying every scope
    key = trader.post("/auth/api-keys", json={"name": "all", "scopes": ["read", "trade", "admin"]})
    with_key = server.client(headers={"X-API-Key": key.json()["key"]})
    assert_problem(with_key.request(method, url, json=body), 403, "forbidden")
    # and nothing happened
    assert trader.get("/auth/me").json()["roles"] == ["trader"]
    assert server.admin().get(f"/markets/{market}").json()["status"] == "open"


def test_an_admin_key_needs_the_admin_scope(server: Server) -> None:
    admin = server.admin()
    market = create_market(admin)["id"]
    key = admin.post("/auth/api-keys", json={"name": "ops", "scopes": ["read", "trade"]})
    limited = server.client(headers={"Authorization": f"Bearer {key.json()['key']}"})
    assert_problem(limited.post(f"/markets/{market}/halt"), 403, "forbidden")
    full = admin.post("/auth/api-keys", json={"name": "ops2", "scopes": ["admin", "trade"]})
    admin_key = server.client(headers={"Authorization": f"Bearer {full.json()['key']}"})
    assert admin_key.post(f"/markets/{market}/halt").json()["status"] == "halted"
    assert admin_key.post(f"/markets/{market}/resume").json()["status"] == "open"


def test_roles_grant_and_halt(server: Server) -> None:
    admin = server.admin()
    creator_name, creator = server.user("mc")
    assert_problem(
        creator.post("/markets", json={"question": "q?", "close_time": CLOSE}), 403, "forbidden"
    )
    roles = admin.put(f"/admin/users/{creator_name}/roles", json={"roles": ["market_creator"]})
    assert roles.status_code == 200 and roles.json()["roles"] == ["market_creator"]
    market = create_market(creator, liquidity="10")
    assert market["creator"] == creator_name and market["subsidy"] == "6.931472"
    assert creator.get("/portfolio/balances").json()["available"] == "993.068528"

    granted = admin.post("/admin/grants", json={"account": creator_name, "amount": "0.5"})
    assert granted.status_code == 201
    assert creator.get("/portfolio/balances").json()["available"] == "993.568528"
    assert_problem(
        admin.post("/admin/grants", json={"account": "nobody-at-all", "amount": "1"}),
        404,
        "not_found",
    )
    assert_problem(
        admin.post("/admin/grants", json={"account": creator_name, "amount": "0"}),
        422,
        "invalid_amount",
    )

    _, trader = server.user("tr")
    mid = market["id"]
    assert admin.post(f"/markets/{mid}/halt", json={"reason": "review"}).json()["status"] == (
        "halted"
    )
    order = {"market": mid, "side": "buy", "price": "0.5", "qty": "1"}
    assert_problem(trader.post("/orders", json=order), 409, "market_halted")
    assert_problem(admin.post(f"/markets/{mid}/halt"), 409, "market_halted")
    assert admin.post(f"/markets/{mid}/resume").json()["status"] == "open"
    assert trader.post("/orders", json=order).status_code == 201
    assert_problem(admin.post(f"/markets/{mid}/resume"), 409, "market_not_halted")
