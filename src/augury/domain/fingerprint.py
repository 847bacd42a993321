"""A canonical, comparable dump of the whole state (for replay and determinism checks).

Two states with equal fingerprints hold the same accounts, balances, markets, books
(in priority order), orders and timers. Slow by design; never on a hot path.
"""

from __future__ import annotations

from typing import Any

import msgspec

from augury.domain.state import State


def fingerprint(state: State) -> dict[str, Any]:
    markets: dict[str, Any] = {}
    for market in state.markets.values():
        markets[market.id] = {
            "status": market.status.value,
            "q": list(market.q),
            "maker_sets": market.maker_sets,
            "positions": {a: list(h) for a, h in sorted(market.positions.items())},
            "contrib": dict(sorted(market.contrib.items())),
            "settlement": market.settlement,
            "block_affiliated_trading": market.block_affiliated_trading,
            "affiliated_trading_reason": market.affiliated_trading_reason,
            "scalar": msgspec.to_builtins(market.scalar),
            "books": [
                {
                    "bids": [o.id for o in book.orders() if o.bid],
                    "asks": [o.id for o in book.orders() if not o.bid],
                    "best": (book.best_bid, book.best_ask),
                }
                for book in market.books
            ],
        }
    orders = {
        oid: [
            o.account,
            o.market,
            o.outcome,
            o.intent,
            o.price,
            o.qty,
            o.remaining,
            o.filled,
            o.escrow,
            o.budget,
            o.tif,
            o.expires_at,
            o.fee_notional,
            o.fee_paid,
            o.resting,
        ]
        for oid, o in sorted(state.orders.items())
    }
    return {
        "accounts": sorted(state.accounts),
        "balances": {k: v for k, v in sorted(state.ledger.balances.items()) if v},
        "markets": markets,
        "orders": orders,
        "open_orders": {a: sorted(o) for a, o in sorted(state.open_orders.items())},
        "client_ids": sorted((a, c, i) for (a, c), i in state.client_ids.items()),
        "expiries": sorted(state.expiries),
        "next_order_id": state.next_order_id,
        "resolutions": {m: msgspec.to_builtins(r) for m, r in sorted(state.resolutions.items())},
        "affiliations": dict(sorted(state.affiliations.items())),
        "alerts": {i: msgspec.to_builtins(a) for i, a in sorted(state.alerts.items())},
        "alert_keys": sorted(state.alert_keys),
    }
