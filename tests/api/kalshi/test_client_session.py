"""The real ``kalshi-python-sync`` 3.34.0 client drives a whole session on a real server.

The session itself (``client_session.py``) runs in the client's Python 3.13 venv; this
test sets the market up through Augury's own API, runs it, resolves the market, and
runs the settlement phase.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from augury.api.kalshi import mapping
from augury.settings import parse_instant_us
from tests.api.conftest import START, Server
from tests.api.kalshi.conftest import ed25519_pair, new_category, rsa_pair, signing_trader

SCRIPT = Path(__file__).with_name("client_session.py")


def run_phase(python: Path, phase: str, setup: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(SCRIPT), phase],
        input=json.dumps(setup),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_market(admin: Any, category: str, market_id: str, **extra: Any) -> None:
    body = {
        "id": market_id,
        "question": f"Will {market_id} happen?",
        "category": category,
        "close_time": "2030-01-01T00:00:00Z",
        "tick_size": "0.01",
        "rules": f"Resolves YES if {market_id} happens.",
        **extra,
    }
    response = admin.post("/markets", json=body)
    assert response.status_code == 201, response.text


def test_a_whole_session_through_the_kalshi_client(server: Server, kalshi_python: Path) -> None:
    whole_session(server, kalshi_python)


def test_a_whole_session_on_postgresql(pg_server: Server, kalshi_python: Path) -> None:
    """The same on PostgreSQL (the read models' sums and pages are SQL)."""
    whole_session(pg_server, kalshi_python)


def whole_session(server: Server, kalshi_python: Path) -> None:
    admin = server.admin()
    category = new_category()
    base = f"kx{uuid.uuid4().hex[:6]}"
    binary = [f"{base}-{i}" for i in range(5)]
    make_market(admin, category, binary[0], fee_bps=100)  # a 1% taker fee: Augury's rule
    for market_id in binary[1:]:
        make_market(admin, category, market_id)
    event_id = f"{base}-cat"
    make_market(admin, category, event_id, type="categorical", outcomes=["Red", "Green", "Blue"])
    trader = signing_trader(server)
    ed_private, ed_public = ed25519_pair()
    ed_key = trader.session.post(
        "/auth/api-keys", json={"name": "ed", "scopes": ["read"], "public_key": ed_public}
    )
    assert ed_key.status_code == 201 and ed_key.json()["key_type"] == "ed25519", ed_key.text
    _, maker = server.user("mk")
    resting = maker.post(
        "/orders",
        json={
            "market": binary[0],
            "outcome": 0,
            "side": "buy",
            "token": "no",
            "qty": "10",
            "price": "0.4",
            "type": "limit",
        },
    )
    assert resting.status_code == 201, resting.text
    setup = {
        "host": server.base_url + "/trade-api/v2",
        "key_id": trader.key_id,
        "private_pem": trader.private_pem,
        "other_private_pem": rsa_pair()[0],
        "ed_key_id": ed_key.json()["id"],
        "ed_private_pem": ed_private,
        "spare_public_pem": ed25519_pair()[1],
        "series": mapping.series_ticker(category),
        "binary": [mapping.ticker_of(m) for m in binary],
        "categorical": [f"{mapping.ticker_of(event_id)}~{i}" for i in range(3)],
        "event": mapping.ticker_of(event_id),
        "start_ts": parse_instant_us(START) // 1_000_000,
    }
    seen = run_phase(kalshi_python, "trade", setup)
    assert seen["pages"] == 3  # 6 Augury markets, 2 a page
    assert seen["wrong_signature"] == "unauthorized"
    resolved = admin.post(f"/markets/{binary[0]}/resolve", json={"outcome": 0, "reason": "test"})
    assert resolved.status_code == 200, resolved.text
    run_phase(kalshi_python, "settled", {**setup, "balance": seen["balance"]})
