"""Checks of everything that must hold after every command; tests call it after each step.

Returns human-readable violations rather than raising, so a property test can show
all of them at once. Never called on a hot path: it walks the whole state.
"""

from __future__ import annotations

from augury.domain import ledger
from augury.domain.book import pays_cash
from augury.domain.market import TERMINAL
from augury.domain.router import next_cross
from augury.domain.state import State


def violations(state: State, now: int | None = None) -> list[str]:
    """Every broken invariant of ``state`` (empty when all hold)."""
    found = conservation(state.ledger)
    book = state.ledger
    escrowed: dict[str, int] = {}
    for order in state.orders.values():
        if pays_cash(order.intent):
            escrowed[order.account] = escrowed.get(order.account, 0) + order.escrow
        if order.remaining < 0 or order.escrow < 0:
            found.append(f"order {order.id} has negative remaining or escrow")
    for account in state.accounts:
        expected = escrowed.get(account, 0)
        actual = book.balance(ledger.escrow(account))
        if expected != actual:
            found.append(f"escrow of {account}: ledger {actual} != open orders {expected}")
    for market in state.markets.values():
        found.extend(_market_violations(state, market.id, now))
    return found


def conservation(book: ledger.Ledger) -> list[str]:
    """The conservation of credits: postings balance (the ledger sums to zero), no
    balance but ``issuance`` is negative, and the credits held (every balance but
    ``issuance``) equal the credits issued. Also the ``conserved`` of the public ledger
    (:mod:`augury.domain.ledger_report`)."""
    found: list[str] = []
    if book.total() != 0:
        found.append(f"ledger does not balance: total {book.total()}")
    for account, balance in book.balances.items():
        if balance < 0 and account != ledger.ISSUANCE:
            found.append(f"{account} is negative: {balance}")
    issued = book.issued()
    held = sum(b for a, b in book.balances.items() if a != ledger.ISSUANCE)
    if held != issued:
        found.append(f"credits held {held} != issued {issued}")
    return found


def _market_violations(state: State, market_id: str, now: int | None) -> list[str]:
    found: list[str] = []
    market = state.markets[market_id]
    book = state.ledger
    collateral = book.balance(ledger.collateral(market.id))
    maker_cash = book.balance(ledger.maker(market.id))
    if market.status in TERMINAL:
        if collateral or maker_cash or market.positions:
            found.append(f"{market.id}: settled market still holds credits or shares")
        return found
    resting = [0] * market.tokens
    for order in state.orders.values():
        if order.market == market.id and not pays_cash(order.intent):
            token = market.token_of(order.intent, order.outcome)
            resting[token] += order.escrow
    supply = market.effective_supply(resting)
    if any(s != collateral for s in supply):
        found.append(f"{market.id}: effective supply {supply} != collateral {collateral}")
    if any(market.maker_inventory(j) < 0 for j in range(market.n)):
        found.append(f"{market.id}: negative maker inventory")
    if market.maker_sets != max(market.q):
        found.append(f"{market.id}: maker holds more complete sets than it needs")
    contributed = sum(market.contrib.values())
    if contributed != collateral + maker_cash:
        found.append(f"{market.id}: contributions {contributed} != pool {collateral + maker_cash}")
    for outcome, b in enumerate(market.books):
        if b.best_bid and b.best_ask < b.top and b.best_bid >= b.best_ask:
            found.append(f"{market.id}/{outcome}: book crossed {b.best_bid} >= {b.best_ask}")
        for order in b.orders():
            if state.orders.get(order.id) is not order:
                found.append(f"{market.id}: resting order {order.id} is not open")
    if now is not None and next_cross(market, now) is not None:
        found.append(f"{market.id}: the maker is crossed with a resting order")
    return found
