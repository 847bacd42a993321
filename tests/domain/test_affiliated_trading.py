"""Conflicts of interest in trading (``domain.affiliation``): blocked by default.

An account affiliated with an owner of one of a market's sources, or with its creator's
organization, may not trade it (``affiliated_account``) unless the market was created
with ``block_affiliated_trading`` off and a public reason. Every refusal goes through
``conftest.reject``, which asserts the state is unchanged.
"""

from __future__ import annotations

import msgspec
import pytest

from augury.domain import codec, snapshot
from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain.commands import PlaceOrder, Side, TimeInForce, Token
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.rejections import Code
from augury.domain.units import ONE

from .conftest import cash, reject, run
from .resolution.test_process import BOND, CLOSE, START, at, spec_json, world

REASON = "The sources' owners run no trading desk; their staff may hedge."


def _orders(account: str, market: str = "town") -> list[cmd.Command]:
    """One command of every kind of trading: limit, market by qty, by budget, FOK, sell,
    post-only, and minting complete sets."""
    return [
        PlaceOrder(account, market, 0, Side.BUY, qty=ONE, price=500_000),
        PlaceOrder(account, market, 0, Side.BUY, Token.NO, qty=ONE, tif=TimeInForce.IOC),
        PlaceOrder(account, market, 0, Side.BUY, budget=ONE),
        PlaceOrder(account, market, 0, Side.BUY, qty=ONE, price=990_000, tif=TimeInForce.FOK),
        PlaceOrder(account, market, 0, Side.SELL, qty=ONE, price=10_000),
        PlaceOrder(account, market, 1, Side.BUY, qty=ONE, price=10_000, post_only=True),
        cmd.MintSets(account, market, ONE),
    ]


def _open_market(ex: Exchange, market: str = "open", **kwargs: object) -> None:
    fields: dict[str, object] = {
        "market": market, "creator": "creator", "question": "Who holds it?",
        "outcomes": ("A", "B"), "close_at": CLOSE, "liquidity": 100 * ONE, "spec": spec_json(),
        "block_affiliated_trading": False, "affiliated_trading_reason": REASON,
    }  # fmt: skip
    fields.update(kwargs)
    run(ex, msgspec.convert(fields, cmd.CreateMarket), START)


@pytest.mark.parametrize("organization", ["Wire Agency", "  wire   AGENCY ", "Institute for Maps"])
def test_an_affiliate_of_a_source_owner_cannot_trade_by_default(organization: str) -> None:
    ex = world()
    assert ex.markets["town"].block_affiliated_trading  # the default
    run(ex, cmd.MintSets("ann", "town", 2 * ONE), START)  # before declaring: allowed
    run(ex, cmd.DeclareAffiliation("ann", organization), START)
    before = cash(ex, "ann")
    for command in _orders("ann"):
        assert reject(ex, command, START) == Code.AFFILIATED_ACCOUNT
    assert cash(ex, "ann") == before
    result = ex.execute(_orders("ann")[0], START)
    assert "ann is affiliated with" in result.message and "may not trade" in result.message
    for command in _orders("ben"):  # an unaffiliated account trades as usual
        run(ex, command, START)
    run(ex, cmd.DeclareAffiliation("ann", organization, affiliated=False), START)
    run(ex, _orders("ann")[0], START)  # no longer affiliated


def test_an_affiliate_of_the_creators_organization_cannot_trade() -> None:
    ex = world()
    run(ex, cmd.CreateMarket("plain", "creator", "Q?", ("Y", "N"), close_at=CLOSE), START)
    run(ex, cmd.DeclareAffiliation("ben", "acme  CORP"), START)
    run(ex, _orders("ben", "plain")[0], START)  # the creator declared nothing yet
    run(ex, cmd.DeclareAffiliation("creator", "Acme Corp"), START)
    for market in ("plain", "town"):
        for command in _orders("ben", market):
            assert reject(ex, command, START) == Code.AFFILIATED_ACCOUNT
    message = ex.execute(_orders("ben", "plain")[0], START).message
    assert "the organization of the creator of market plain" in message
    assert reject(ex, _orders("creator", "plain")[0], START) == Code.AFFILIATED_ACCOUNT
    run(ex, _orders("ann", "plain")[0], START)  # ann has no affiliation


def test_cancelling_redeeming_converting_and_settlement_stay_allowed() -> None:
    ex = world()
    run(ex, cmd.CreateMarket("cat", "creator", "Q?", ("X", "Y", "Z"), CLOSE, categorical=True),
        START)  # fmt: skip
    run(ex, cmd.MintSets("ann", "town", 3 * ONE), START)
    run(ex, cmd.MintSets("ann", "cat", 2 * ONE), START)
    order = run(ex, PlaceOrder("ann", "town", 0, Side.BUY, qty=ONE, price=10_000), START)
    order_id = next(e.order_id for e in order if isinstance(e, ev.OrderAccepted))
    run(ex, PlaceOrder("ann", "cat", 0, Side.SELL, qty=ONE, price=990_000), START)
    run(ex, cmd.DeclareAffiliation("ann", "Wire Agency"), START)
    run(ex, cmd.DeclareAffiliation("creator", "Wire Agency"), START)  # blocks ann on cat too
    assert reject(ex, _orders("ann", "cat")[0], START) == Code.AFFILIATED_ACCOUNT
    run(ex, cmd.CancelOrder("ann", order_id), START)
    run(ex, cmd.CancelAll("ann", "cat"), START)
    run(ex, cmd.RedeemSets("ann", "town", ONE), START)
    run(ex, cmd.ConvertNo("ann", "cat", 0, ONE, to_yes=False), START)
    before = cash(ex, "ann")
    run(ex, cmd.ResolveMarket("town", (ONE, 0), "A holds"), at(13))  # after the window
    assert cash(ex, "ann") == before + 2 * ONE  # its 2 remaining YES of outcome A pay


def test_a_market_may_allow_affiliated_trading_with_a_public_reason() -> None:
    ex = world()
    _open_market(ex)
    market = ex.markets["open"]
    assert not market.block_affiliated_trading
    assert market.affiliated_trading_reason == REASON
    assert "open" not in ex.blocked_orgs
    run(ex, cmd.DeclareAffiliation("ann", "Wire Agency"), START)
    run(ex, cmd.DeclareAffiliation("creator", "Acme"), START)
    run(ex, cmd.DeclareAffiliation("ben", "Acme"), START)
    for command in _orders("ann", "open") + _orders("ben", "open"):
        run(ex, command, START)
    assert reject(ex, _orders("ann")[0], START) == Code.AFFILIATED_ACCOUNT  # town blocks
    copy = snapshot.load(snapshot.dump(ex))
    assert fingerprint(copy) == fingerprint(ex)
    assert copy.markets["open"].affiliated_trading_reason == REASON
    assert copy.blocked_orgs == ex.blocked_orgs
    assert reject(copy, _orders("ann")[0], START) == Code.AFFILIATED_ACCOUNT


def test_a_spec_that_blocks_still_blocks_the_owners_when_the_market_allows() -> None:
    ex = world()
    blocking = spec_json().replace(
        '"block_affiliated_trading":false', '"block_affiliated_trading":true'
    )
    _open_market(ex, spec=blocking)
    run(ex, cmd.DeclareAffiliation("ann", "wire agency"), START)
    run(ex, cmd.DeclareAffiliation("creator", "Acme"), START)
    run(ex, cmd.DeclareAffiliation("ben", "Acme"), START)
    assert reject(ex, _orders("ann", "open")[0], START) == Code.AFFILIATED_ACCOUNT
    run(ex, _orders("ben", "open")[0], START)  # the creator's organization is allowed


@pytest.mark.parametrize(
    ("block", "reason"),
    [(False, ""), (False, "   "), (False, "x" * 4_001), (True, REASON)],
)
def test_the_setting_is_checked_at_creation(block: bool, reason: str) -> None:
    ex = world()
    create = cmd.CreateMarket(
        "open", "creator", "Q?", ("Y", "N"), CLOSE, spec=spec_json(),
        block_affiliated_trading=block, affiliated_trading_reason=reason,
    )  # fmt: skip
    assert reject(ex, create, START) == Code.INVALID_MARKET
    message = ex.execute(create, START).message
    assert "affiliated_trading_reason" in message


def test_the_reason_is_stored_stripped() -> None:
    ex = world()
    _open_market(ex, affiliated_trading_reason=f"  {REASON}\n")
    assert ex.markets["open"].affiliated_trading_reason == REASON


def test_proposers_and_arbiters_stay_excluded_when_trading_is_allowed() -> None:
    ex = world()
    _open_market(ex)
    run(ex, cmd.DeclareAffiliation("res", "Institute for Maps"), START)
    propose = cmd.ProposeOutcome("open", "res", 0, BOND)
    assert reject(ex, propose, at(13)) == Code.CONFLICT_OF_INTEREST


def test_old_journals_replay_with_the_default() -> None:
    """A command and an event written before the setting existed decode to the default
    (blocked); a default market's event and snapshot encode exactly as they did then."""
    old_command = (
        b'{"type":"create_market","market":"m","creator":"c","question":"Q?",'
        b'"outcomes":["Y","N"],"close_at":5}'
    )
    decoded = codec.decode_command(old_command)
    assert isinstance(decoded, cmd.CreateMarket) and decoded.block_affiliated_trading
    ex = Exchange()
    events = [*run(ex, cmd.OpenAccount("creator"), START)]
    events += run(ex, cmd.CreateMarket("m", "creator", "Q?", ("Y", "N"), CLOSE), START)
    assert b"affiliated" not in codec.encode(events[-1])  # the encoding of before
    assert b"affiliated" not in snapshot.dump(ex)
    allowed = cmd.CreateMarket(
        "o", "creator", "Q?", ("Y", "N"), CLOSE,
        block_affiliated_trading=False, affiliated_trading_reason=REASON,
    )  # fmt: skip
    events += run(ex, allowed, START)
    replayed = Exchange()
    for event in codec.decode_events(codec.encode(events)):
        replayed.apply(event)
    assert fingerprint(replayed) == fingerprint(ex)
    assert replayed.markets["m"].block_affiliated_trading
    assert replayed.markets["o"].affiliated_trading_reason == REASON
    assert snapshot.dump(snapshot.load(snapshot.dump(ex))) == snapshot.dump(ex)
