"""Shared helpers for the domain tests: build an exchange, run commands, check invariants.

Import the helpers directly (``from .conftest import run, reject, check``); the
``ex`` fixture is a fresh default exchange. Every helper that executes a command
checks the invariants afterwards, so a test cannot forget to.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from augury.domain import commands as cmd
from augury.domain import invariants, ledger
from augury.domain.events import Event, OrderAccepted
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.limits import Limits

E = TypeVar("E", bound=Event)

T0 = 1_000_000_000_000
"""A fixed starting instant (UTC microseconds); tests count time from here."""

CLOSE = T0 + 3_600_000_000
"""Default close time of markets made by :func:`binary` and :func:`categorical`."""


def make_exchange(limits: Limits | None = None) -> Exchange:
    return Exchange() if limits is None else Exchange(limits)


def check(ex: Exchange, now: int | None = None) -> None:
    """Assert that every invariant holds (with the maker-crossing check when ``now`` is given)."""
    assert invariants.violations(ex, now) == []


def run(ex: Exchange, command: cmd.Command, now: int = T0) -> tuple[Event, ...]:
    """Execute a command that must be accepted; check invariants; return its events."""
    result = ex.execute(command, now)
    assert result.ok, f"{command!r} refused: {result.code}: {result.message}"
    check(ex, now)
    return result.events


def reject(ex: Exchange, command: cmd.Command, now: int = T0) -> str:
    """Execute a command that must be refused without any effect; return its code."""
    before = fingerprint(ex)
    result = ex.execute(command, now)
    assert not result.ok, f"{command!r} was accepted: {result.events!r}"
    assert result.events == ()
    assert fingerprint(ex) == before, "a refused command changed the state"
    check(ex, now)
    return result.code


def open_account(ex: Exchange, account: str, credits: int = 0, now: int = T0) -> None:
    """Open ``account`` and grant it ``credits`` micros (if any)."""
    run(ex, cmd.OpenAccount(account), now)
    if credits:
        run(ex, cmd.GrantCredits(account, credits), now)


def binary(
    ex: Exchange,
    market: str = "m",
    creator: str = "creator",
    now: int = T0,
    **kwargs: Any,
) -> None:
    """Create a binary YES/NO market (the creator must exist and fund any subsidy)."""
    kwargs.setdefault("close_at", CLOSE)
    run(ex, cmd.CreateMarket(market, creator, "Will it?", ("YES", "NO"), **kwargs), now)


def categorical(
    ex: Exchange,
    market: str = "c",
    creator: str = "creator",
    outcomes: tuple[str, ...] = ("A", "B", "C"),
    now: int = T0,
    **kwargs: Any,
) -> None:
    """Create a categorical market (one winner among ``outcomes``)."""
    kwargs.setdefault("close_at", CLOSE)
    run(ex, cmd.CreateMarket(market, creator, "Which?", outcomes, categorical=True, **kwargs), now)


def cash(ex: Exchange, account: str) -> int:
    return ex.ledger.balance(ledger.cash(account))


def escrow(ex: Exchange, account: str) -> int:
    return ex.ledger.balance(ledger.escrow(account))


def held(ex: Exchange, market: str, account: str) -> list[int]:
    """An account's available holdings per token (zeros if it never held any)."""
    m = ex.markets[market]
    return list(m.positions.get(account, [0] * m.tokens))


def order_id(events: tuple[Event, ...]) -> int:
    """The id of the order a PlaceOrder accepted."""
    ids = [e.order_id for e in events if isinstance(e, OrderAccepted)]
    assert len(ids) == 1
    return ids[0]


def of_type(events: tuple[Event, ...], kind: type[E]) -> list[E]:
    """The events of one type, in order."""
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def ex() -> Exchange:
    return make_exchange()
