"""Tickers, series and statuses in Kalshi's terms (``augury.api.kalshi.mapping``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from augury.api.kalshi import mapping

MARKET_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", fullmatch=True)


@given(MARKET_IDS)
def test_tickers_are_uppercase_and_one_to_one(market_id: str) -> None:
    ticker = mapping.ticker_of(market_id)
    assert ticker == ticker.upper()
    assert mapping.market_id_of(ticker) == market_id
    assert mapping.parse_market_ticker(f"{ticker}~3") == (market_id, 3)
    assert mapping.parse_market_ticker(ticker) == (market_id, None)


def test_common_ids_read_as_themselves_in_capitals() -> None:
    assert mapping.ticker_of("m-3f2a9c") == "M-3F2A9C"
    # a capital is "_" and itself, "_" is "__": R-ain-_-N-Y-C
    assert mapping.ticker_of("Rain_NYC") == "_RAIN___N_Y_C"
    assert mapping.market_id_of("_RAIN___N_Y_C") == "Rain_NYC"
    for bad in ("", "A B", "A_", "A_1", "Ä", "A~x", "A~123"):
        assert mapping.parse_market_ticker(bad) is None, bad


def test_series_tickers() -> None:
    assert mapping.series_ticker("") == "GENERAL"
    assert mapping.series_ticker("Politics & Elections") == "POLITICS-ELECTIONS"


def _view(status: str, weights: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": "m-1", "question": "Q?", "description": "", "rules": "", "category": "",
        "outcomes": ["Yes", "No"], "categorical": False, "status": status,
        "close_time": "2030-01-01T00:00:00Z", "created_at": "2025-01-01T00:00:00Z",
        "tick_size": "0.01", "weights": weights,
    }  # fmt: skip


def _market(view: dict[str, Any], phase: str = "") -> Any:
    live = {
        "bid": None,
        "bid_qty": 0,
        "ask": None,
        "ask_qty": 0,
        "open_interest": 0,
        "phase": phase,
    }
    return mapping.kalshi_market(view, 0, live, None)


def test_statuses_say_held_disputed_and_settled() -> None:
    assert _market(_view("open")).status == "active"
    assert _market(_view("halted")).status == "inactive"
    assert _market(_view("closed"), "proposed").status == "determined"
    assert _market(_view("closed"), "disputed").status == "disputed"
    assert _market(_view("closed"), "held").status == "disputed"
    resolved = _market(_view("resolved", ["1", "0"]), "final")
    assert (resolved.status, resolved.result, resolved.settlement_value_dollars) == (
        "finalized",
        "yes",
        "1.0000",
    )
    fractional = _market(_view("resolved", ["0.3", "0.7"]), "final")
    assert (fractional.result, fractional.settlement_value_dollars) == ("scalar", "0.3000")
    voided = _market(_view("voided"), "final")
    assert (voided.status, voided.result) == ("finalized", "")


def test_an_empty_book_reads_as_kalshi_shows_one() -> None:
    market = _market(_view("open"))
    assert (market.yes_bid_dollars, market.yes_ask_dollars) == ("0.0000", "1.0000")
    assert (market.no_bid_dollars, market.no_ask_dollars) == ("0.0000", "1.0000")
    assert market.price_ranges[0].step == "0.0100"
