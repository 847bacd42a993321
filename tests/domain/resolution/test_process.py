"""The resolution process through ``Exchange.execute``: specs, evidence, proposals,
disputes, votes, holds, clarifications, bonds and settlement, with invariants checked
after every command (the conftest helpers do it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import pytest

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger, snapshot
from augury.domain.commands import PlaceOrder, Side
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.market import Status
from augury.domain.rejections import Code
from augury.domain.resolution import HOUR_US, encode_spec
from augury.domain.resolution.process import clarification_hash
from augury.domain.resolution.record import Phase
from augury.domain.units import ONE

if TYPE_CHECKING:
    from collections.abc import Callable

from ..conftest import cash, check, of_type, open_account, reject, run
from .helpers import OUTCOMES, T_OBS, war_map_spec

CLOSE = T_OBS - 24 * HOUR_US
START = T_OBS - 48 * HOUR_US
DECIDE = T_OBS + 12 * HOUR_US
"""The earliest resolution time: the observation time plus the 12-hour window."""
BOND = 100 * ONE


def at(hour: float) -> int:
    """An instant ``hour`` hours from the observation time."""
    return T_OBS + int(hour * HOUR_US)


def spec_json(**kwargs: int) -> str:
    return encode_spec(war_map_spec(**kwargs)).decode()


def world(spec: str | None = None) -> Exchange:
    """creator; traders ann, ben (rich), arb1..arb4 (arbiters, no positions), res (a
    resolver); the war-map market ``town`` (binary: 0 = A holds, 1 = B holds)."""
    ex = Exchange()
    open_account(ex, "creator", 10_000 * ONE, START)
    for name in ("ann", "ben", "res", "dis", "arb1", "arb2", "arb3", "arb4"):
        open_account(ex, name, 1_000 * ONE, START)
    create = cmd.CreateMarket(
        "town", "creator", "Who holds the town?", OUTCOMES, close_at=CLOSE, liquidity=100 * ONE,
        spec=spec if spec is not None else spec_json(),
    )  # fmt: skip
    run(ex, create, START)
    return ex


def observe(ex: Exchange, source: str, hour: float, value: str | None) -> tuple[ev.Event, ...]:
    digest = f"{source}{hour}{value}".encode().hex().ljust(64, "0")[:64]
    ok = value is not None
    command = cmd.RecordObservation(
        "town", source, at(hour), ok, value, digest, 200 if ok else 500,
        "" if ok else "http_status", "" if ok else "HTTP 500",
    )  # fmt: skip
    return run(ex, command, at(hour))


def feed(
    ex: Exchange,
    hours: range,
    map_at: Callable[[int], str | None],
    wire_at: Callable[[int], str | None],
) -> list[ev.Event]:
    """Hourly observations of both sources and a tick between hours, until settled."""
    events: list[ev.Event] = []
    for h in hours:
        for source, value_at in (("map", map_at), ("wire", wire_at)):
            if ex.markets["town"].status in (Status.RESOLVED, Status.VOIDED):
                return events
            events += observe(ex, source, h, value_at(h))
        events += tick(ex, h + 0.5)
    return events  # fmt: skip


def tick(ex: Exchange, hour: float) -> tuple[ev.Event, ...]:
    return run(ex, cmd.Tick(), at(hour))


def phase(ex: Exchange) -> Phase:
    return ex.resolutions["town"].phase


def buy(ex: Exchange, account: str, outcome: int, price: int, qty: int, now: int) -> None:
    run(ex, PlaceOrder(account, "town", outcome, Side.BUY, qty=qty, price=price), now)


# -- the war-map scenario --------------------------------------------------------------------
def war_map(ex: Exchange) -> list[ev.Event]:
    """Hourly map and wire observations from T-24h; the map flips to B from T-6h to T-1h."""
    return feed(ex, range(-24, 70), lambda h: "B" if -6 <= h < -1 else "A", lambda h: "A")


def test_the_edited_map_does_not_decide_the_market() -> None:
    ex = world()
    buy(ex, "ben", 1, 3_000, 100 * ONE, START + HOUR_US)  # B at 0.3 cents
    events = war_map(ex)
    proposals = of_type(tuple(events), ev.OutcomeProposed)
    assert [(p.proposer, p.outcome) for p in proposals] == [("", 0)]  # A, never B
    assert proposals[0].at_us == at(12)  # the window counts forward: T + 12h
    final = of_type(tuple(events), ev.ResolutionFinalized)
    assert [(f.outcome, f.by) for f in final] == [(0, "rules")]
    assert ex.markets["town"].status is Status.RESOLVED
    assert ex.markets["town"].settlement == (ONE, 0)
    r = ex.resolutions["town"]
    assert r.phase is Phase.FINAL
    flips = [o for o in r.observations if o.source_id == "map" and o.value == "B"]
    assert len(flips) == 5 and all(o.content_sha256 for o in flips)  # the edit is in evidence


def test_the_genuine_change_resolves_after_the_window_and_the_challenge() -> None:
    ex = world()
    run(ex, cmd.MintSets("ann", "town", 10 * ONE), START)  # 10 A and 10 B shares
    events = feed(
        ex, range(-24, 62), lambda h: "B" if h >= -6 else "A", lambda h: "B" if h >= -5 else "A"
    )
    proposed = of_type(tuple(events), ev.OutcomeProposed)
    assert [(p.outcome, p.at_us) for p in proposed] == [(1, at(12))]  # T + 12h
    assert proposed[0].challenge_ends_at == at(12 + 48)
    settled = of_type(tuple(events), ev.MarketSettled)
    assert settled and settled[0].weights == (0, ONE)
    assert dict(settled[0].payouts)["ann"] == 10 * ONE  # her 10 B shares pay 1 each


def test_failed_observations_are_never_answers() -> None:
    ex = world()
    feed(ex, range(-24, 36), lambda h: None, lambda h: "A")  # the map is down throughout
    assert phase(ex) is Phase.COLLECTING  # the wire alone is not a quorum of 2
    events = tick(ex, 36)  # the deadline: T + 12h window + 24h grace
    assert of_type(events, ev.ResolutionHeld) and phase(ex) is Phase.HELD
    assert not any(o.ok for o in ex.resolutions["town"].observations if o.source_id == "map")


def test_disagreeing_sources_are_held_for_the_arbiters() -> None:
    ex = world()
    buy(ex, "ann", 0, 900_000, 10 * ONE, START)  # ann holds a position: conflicted
    feed(ex, range(-24, 36), lambda h: "B", lambda h: "A")
    deadline = war_map_spec().deadline_us
    assert phase(ex) is Phase.COLLECTING
    events = run(ex, cmd.Tick(), deadline)
    assert of_type(events, ev.ResolutionHeld)
    assert phase(ex) is Phase.HELD
    assert reject(ex, cmd.CastVote("town", "ann", 0), deadline) == Code.CONFLICT_OF_INTEREST
    run(ex, cmd.CastVote("town", "arb1", 0, "the wire is the better source"), deadline)
    assert reject(ex, cmd.CastVote("town", "arb1", 0), deadline) == Code.ALREADY_VOTED
    run(ex, cmd.CastVote("town", "arb2", 1), deadline)
    events = run(ex, cmd.CastVote("town", "arb3", 0), deadline)
    final = of_type(events, ev.ResolutionFinalized)
    assert [(f.outcome, f.by, f.voters) for f in final] == [(0, "arbiters", ("arb1", "arb3"))]
    assert ex.markets["town"].status is Status.RESOLVED


def test_a_dispute_with_a_bond_overturns_a_wrong_proposal() -> None:
    ex = world()
    before = {a: cash(ex, a) for a in ("res", "dis", "arb1", "arb2", "arb3")}
    propose = cmd.ProposeOutcome("town", "res", 1, BOND, "B took the town")
    assert reject(ex, propose, CLOSE - 1) == Code.MARKET_NOT_CLOSED
    assert reject(ex, propose, DECIDE - 1) == Code.RESOLUTION_TOO_EARLY
    run(ex, propose, DECIDE)
    assert phase(ex) is Phase.PROPOSED
    assert ex.ledger.balance(ledger.bonds("town")) == BOND
    assert reject(ex, cmd.DisputeProposal("town", "res", BOND), DECIDE) == Code.CONFLICT_OF_INTEREST
    small = cmd.DisputeProposal("town", "dis", BOND - 1)
    assert reject(ex, small, DECIDE) == Code.BOND_TOO_SMALL
    run(ex, cmd.DisputeProposal("town", "dis", BOND, "the wire says A"), DECIDE + HOUR_US)
    assert phase(ex) is Phase.DISPUTED
    assert reject(ex, cmd.CastVote("town", "res", 0), DECIDE) == Code.CONFLICT_OF_INTEREST
    run(ex, cmd.CastVote("town", "arb1", 0), DECIDE + 2 * HOUR_US)
    run(ex, cmd.CastVote("town", "arb2", 1), DECIDE + 2 * HOUR_US)
    events = run(ex, cmd.CastVote("town", "arb3", 0), DECIDE + 3 * HOUR_US)
    assert ex.markets["town"].settlement == (ONE, 0)
    final = of_type(events, ev.ResolutionFinalized)[0]
    assert final.voters == ("arb1", "arb3")
    # the disputer was right: bond back + half the proposer's; the other half to the voters
    assert cash(ex, "dis") - before["dis"] == BOND // 2
    assert cash(ex, "res") - before["res"] == -BOND
    assert cash(ex, "arb1") - before["arb1"] == BOND // 4
    assert cash(ex, "arb3") - before["arb3"] == BOND // 4
    assert cash(ex, "arb2") == before["arb2"]
    assert ex.ledger.balance(ledger.bonds("town")) == 0


def test_an_unchallenged_resolver_proposal_settles_and_returns_the_bond() -> None:
    ex = world()
    before = cash(ex, "res")
    run(ex, cmd.ProposeOutcome("town", "res", 0, BOND), DECIDE)
    assert reject(ex, cmd.DisputeProposal("town", "dis", BOND), DECIDE + 48 * HOUR_US) == (
        Code.CHALLENGE_WINDOW_CLOSED
    )
    assert ex.next_timer() == DECIDE + 48 * HOUR_US
    run(ex, cmd.Tick(), DECIDE + 48 * HOUR_US)
    assert ex.markets["town"].status is Status.RESOLVED
    assert cash(ex, "res") == before


def test_affiliated_accounts_cannot_propose_or_vote() -> None:
    ex = world()
    run(ex, cmd.DeclareAffiliation("arb1", "  institute FOR maps "), START)
    assert ex.affiliations["arb1"] == ("institute FOR maps",)
    propose = cmd.ProposeOutcome("town", "arb1", 0, BOND)
    assert reject(ex, propose, DECIDE) == Code.CONFLICT_OF_INTEREST
    run(ex, cmd.DeclareAffiliation("arb1", "institute FOR maps", affiliated=False), START)
    run(ex, propose, DECIDE)

    ex = world()  # and a vote: an arbiter affiliated with a source's owner is refused
    run(ex, cmd.DeclareAffiliation("arb2", "Wire Agency"), START)
    run(ex, cmd.ProposeOutcome("town", "res", 1, BOND), DECIDE)
    run(ex, cmd.DisputeProposal("town", "dis", BOND), DECIDE)
    assert reject(ex, cmd.CastVote("town", "arb2", 0), DECIDE) == Code.CONFLICT_OF_INTEREST
    run(ex, cmd.DeclareAffiliation("arb2", "Wire Agency", affiliated=False), DECIDE)
    run(ex, cmd.CastVote("town", "arb2", 0), DECIDE)


def test_an_arbiters_orders_are_cancelled_at_close_so_they_may_vote() -> None:
    """Votes open only after the close, and the close cancels every order: an open order
    never makes an arbiter conflicted (a position still does)."""
    ex = world()
    run(ex, PlaceOrder("arb4", "town", 0, Side.BUY, qty=ONE, price=10_000), START)
    assert ex.open_orders["arb4"]
    run(ex, cmd.ProposeOutcome("town", "res", 1, BOND), DECIDE)
    assert not ex.open_orders.get("arb4")  # the close cancelled it
    run(ex, cmd.DisputeProposal("town", "dis", BOND), DECIDE)
    events = run(ex, cmd.CastVote("town", "arb4", 0), DECIDE)
    assert [(v.arbiter, v.outcome) for v in of_type(events, ev.VoteCast)] == [("arb4", 0)]


def test_clarifications_are_versioned_and_hash_chained() -> None:
    ex = world()
    run(ex, PlaceOrder("ann", "town", 0, Side.BUY, qty=ONE, price=10_000), START)
    events = run(ex, cmd.PostClarification("town", "creator", "The town centre counts."), START)
    first = of_type(events, ev.ClarificationPosted)[0]
    r = ex.resolutions["town"]
    assert first.version == 2 and first.prev_sha256 == r.spec_sha256
    assert first.sha256 == clarification_hash(
        r.spec_sha256, "town", 2, "creator", "The town centre counts."
    )
    assert ex.open_orders["ann"]  # kept
    events = run(ex, cmd.PostClarification("town", "creator", "Suburbs do not.", True), START)
    second = of_type(events, ev.ClarificationPosted)[0]
    assert second.version == 3 and second.prev_sha256 == first.sha256
    assert of_type(events, ev.OrderClosed) and not ex.open_orders["ann"]  # cancelled
    assert ex.resolutions["town"].rules_version == 3
    assert reject(ex, cmd.PostClarification("town", "creator", "  "), START) == Code.INVALID_TEXT


def test_a_high_alert_holds_the_resolution_until_reviewed() -> None:
    ex = world()
    alert = cmd.RaiseAlert("town", "longshot", "high", ("ben",), (7, 9), "B bought at 0.3c")
    events = run(ex, alert, START)
    raised = of_type(events, ev.AlertRaised)[0]
    assert raised.holds and ex.resolutions["town"].holding_alerts == (1,)
    run(ex, cmd.ProposeOutcome("town", "res", 0, BOND), DECIDE)
    run(ex, cmd.Tick(), DECIDE + 60 * HOUR_US)
    assert phase(ex) is Phase.PROPOSED  # the window ended, but the alert holds it
    assert ex.next_timer() is None
    review = cmd.ReviewAlert(1, "ben", "dismiss")
    assert reject(ex, review, DECIDE + 61 * HOUR_US) == Code.CONFLICT_OF_INTEREST
    events = run(ex, cmd.ReviewAlert(1, "arb1", "dismiss", "honest"), DECIDE + 61 * HOUR_US)
    assert of_type(events, ev.MarketSettled)  # released: final at once
    again = cmd.ReviewAlert(1, "arb2", "confirm")
    assert reject(ex, again, DECIDE + 62 * HOUR_US) == Code.ALERT_ALREADY_REVIEWED


def test_arbiters_vote_only_once_trading_has_closed() -> None:
    ex = world()
    run(ex, cmd.RaiseAlert("town", "longshot", "high", ("ben",), (), "planted"), START)
    run(ex, cmd.ReviewAlert(1, "arb1", "confirm"), START + HOUR_US)
    assert phase(ex) is Phase.HELD and ex.markets["town"].status is Status.OPEN
    assert reject(ex, cmd.CastVote("town", "arb2", 0), START + HOUR_US) == (Code.MARKET_NOT_CLOSED)
    run(ex, cmd.Tick(), CLOSE)
    assert reject(ex, cmd.CastVote("town", "arb2", 0), CLOSE) == Code.RESOLUTION_TOO_EARLY
    run(ex, cmd.CastVote("town", "arb2", 0), DECIDE)
    events = run(ex, cmd.CastVote("town", "arb3", 0), DECIDE)
    assert of_type(events, ev.MarketSettled)


def test_a_confirmed_alert_sends_the_market_to_the_arbiters() -> None:
    ex = world()
    run(ex, cmd.RaiseAlert("town", "longshot", "high", ("ben",), (), "planted", key="k"), START)
    dup = cmd.RaiseAlert("town", "longshot", "high", ("ben",), (), "planted", key="k")
    assert reject(ex, dup, START) == Code.INVALID_ALERT
    run(ex, cmd.ProposeOutcome("town", "res", 1, BOND), DECIDE)
    run(ex, cmd.ReviewAlert(1, "arb1", "confirm", "planted"), DECIDE + HOUR_US)
    assert phase(ex) is Phase.HELD
    run(ex, cmd.CastVote("town", "arb2", 0), DECIDE + HOUR_US)
    run(ex, cmd.CastVote("town", "arb3", 0), DECIDE + HOUR_US)
    assert ex.markets["town"].settlement == (ONE, 0)
    assert cash(ex, "res") == 1_000 * ONE - BOND  # the proposer was wrong: bond lost


def test_an_admin_override_is_journaled_and_refunds_bonds() -> None:
    ex = world()
    run(ex, cmd.ProposeOutcome("town", "res", 1, BOND), DECIDE)
    run(ex, cmd.DisputeProposal("town", "dis", BOND), DECIDE)
    events = run(ex, cmd.VoidMarket("town", "the source was taken offline"), DECIDE + HOUR_US)
    final = of_type(events, ev.ResolutionFinalized)[0]
    assert (final.outcome, final.by, final.reason) == (-1, "admin", "the source was taken offline")
    assert cash(ex, "res") == cash(ex, "dis") == 1_000 * ONE
    assert ex.markets["town"].status is Status.VOIDED


def test_the_void_fallback_voids_at_the_deadline() -> None:
    spec = war_map_spec()
    text = spec_json().replace('{"kind":"hold"}', '{"kind":"void"}')
    ex = world(text)
    events = run(ex, cmd.Tick(), spec.deadline_us)
    assert of_type(events, ev.MarketVoided)
    assert of_type(events, ev.ResolutionFinalized)[0].by == "rules"


def test_the_extend_fallback_moves_the_observation_time() -> None:
    spec = war_map_spec()
    text = spec_json().replace('{"kind":"hold"}', '{"kind":"extend","by_hours":24}')
    ex = world(text)
    events = run(ex, cmd.Tick(), spec.deadline_us)
    new = of_type(events, ev.ResolutionSpecSet)[0]
    assert new.version == 2 and new.by == ""
    assert msgspec.json.decode(new.spec)["observation_at_us"] == T_OBS + 24 * HOUR_US
    assert new.deadline_us == spec.deadline_us + 24 * HOUR_US
    assert ex.next_timer() == new.deadline_us


def test_a_bad_spec_is_refused_with_the_linters_words() -> None:
    ex = world()
    bad = spec_json().replace('"quorum":2', '"quorum":3')
    result = ex.execute(cmd.SetResolutionSpec("town", "creator", bad), START)
    assert (result.ok, result.code) == (False, "invalid_spec")
    assert "quorum" in result.message and "[quorum_out_of_range]" in result.message
    create = cmd.CreateMarket("m2", "creator", "Q?", OUTCOMES, close_at=CLOSE, spec="{nope")
    assert reject(ex, create, START) == Code.INVALID_SPEC
    assert "m2" not in ex.markets


def test_a_new_spec_version_until_a_proposal() -> None:
    ex = world()
    events = run(ex, cmd.SetResolutionSpec("town", "creator", spec_json(hours=24), "longer"), START)
    assert of_type(events, ev.ResolutionSpecSet)[0].version == 2
    propose = cmd.ProposeOutcome("town", "res", 0, BOND)
    assert reject(ex, propose, DECIDE) == Code.RESOLUTION_TOO_EARLY  # the new window: 24h
    run(ex, propose, at(24))
    again = cmd.SetResolutionSpec("town", "creator", spec_json())
    assert reject(ex, again, at(24)) == Code.WRONG_RESOLUTION_PHASE


def test_the_creator_owning_a_source_is_refused() -> None:
    ex = world()
    run(ex, cmd.DeclareAffiliation("creator", "Wire Agency"), START)
    again = cmd.SetResolutionSpec("town", "creator", spec_json())
    assert reject(ex, again, START) == Code.INVALID_SPEC


@pytest.mark.parametrize("stop_hour", [-3, 5, 11, 30])
def test_resolution_state_survives_a_snapshot(stop_hour: int) -> None:
    ex = world()
    buy(ex, "ben", 1, 3_000, 10 * ONE, START)
    run(ex, cmd.RaiseAlert("town", "longshot", "medium", ("ben",), (3,), "small"), START)
    run(ex, cmd.DeclareAffiliation("ann", "Wire Agency"), START)
    feed(ex, range(-24, stop_hour), lambda h: "A", lambda h: "A")
    copy = snapshot.load(snapshot.dump(ex))
    assert fingerprint(copy) == fingerprint(ex)
    for x in (ex, copy):
        feed(x, range(stop_hour, 70), lambda h: "A", lambda h: "A")
    assert fingerprint(copy) == fingerprint(ex)
    check(copy)


def test_replaying_the_events_rebuilds_the_resolution_state() -> None:
    ex = world()
    events: list[ev.Event] = []
    original = Exchange.execute

    def recording(self: Exchange, command: cmd.Command, now: int):  # type: ignore[no-untyped-def]
        result = original(self, command, now)
        events.extend(result.events)
        return result

    Exchange.execute = recording  # type: ignore[method-assign]
    try:
        ex = world()
        run(ex, cmd.ProposeOutcome("town", "res", 1, BOND), DECIDE)
        run(ex, cmd.DisputeProposal("town", "dis", BOND), DECIDE)
        run(ex, cmd.PostClarification("town", "creator", "note"), DECIDE)
        run(ex, cmd.CastVote("town", "arb1", 0), DECIDE)
    finally:
        Exchange.execute = original  # type: ignore[method-assign]
    replayed = Exchange()
    for e in events:
        replayed.apply(e)
    assert fingerprint(replayed) == fingerprint(ex)


# -- no decision before its time (issue 17) ----------------------------------------------------
def test_no_proposal_vote_or_operator_resolve_before_the_earliest_resolution_time() -> None:
    ex = world()
    run(ex, cmd.RaiseAlert("town", "longshot", "high", ("ben",), (), "planted"), START)
    run(ex, cmd.ReviewAlert(1, "arb1", "confirm"), CLOSE)  # held before anything to decide
    assert phase(ex) is Phase.HELD
    too_early = [
        cmd.ProposeOutcome("town", "res", 0, BOND, "the map says A"),
        cmd.CastVote("town", "arb2", 0),
        cmd.ResolveMarket("town", (ONE, 0), "admin: the operator decides"),
    ]
    for now in (CLOSE, T_OBS, DECIDE - 1):
        for command in too_early:
            assert reject(ex, command, now) == Code.RESOLUTION_TOO_EARLY
    result = ex.execute(too_early[0], T_OBS)
    assert result.message == (
        "a proposal on market 'town' is refused before its earliest resolution time, "
        "2025-11-15T12:00:00Z (the observation time 2025-11-15T00:00:00Z plus its "
        "persistence window of 12 hours); 12 hours to go."
    )
    run(ex, cmd.CastVote("town", "arb2", 0), DECIDE)  # its time has come
    events = run(ex, cmd.CastVote("town", "arb3", 0), DECIDE)
    assert of_type(events, ev.MarketSettled)


def test_an_operator_resolve_waits_but_a_void_with_a_reason_does_not() -> None:
    ex = world()
    resolve = cmd.ResolveMarket("town", (ONE, 0), "admin: decided")
    assert reject(ex, resolve, CLOSE) == Code.RESOLUTION_TOO_EARLY
    assert reject(ex, cmd.VoidMarket("town", "  "), CLOSE) == Code.INVALID_TEXT
    events = run(ex, cmd.VoidMarket("town", "admin: the town no longer exists"), CLOSE)
    final = of_type(events, ev.ResolutionFinalized)[0]
    assert (final.outcome, final.reason) == (-1, "admin: the town no longer exists")
    assert ex.markets["town"].status is Status.VOIDED
    later = world()
    run(later, resolve, DECIDE)
    assert later.markets["town"].settlement == (ONE, 0)


def test_a_proposal_from_an_older_journal_is_not_final_before_the_earliest_time() -> None:
    # Before issue 17 a resolver could propose at the close; replaying such a journal
    # must not finalize before T + window even when the challenge window ends earlier.
    ex = world(spec_json().replace('"challenge_window_hours":48', '"challenge_window_hours":1'))
    run(ex, cmd.Tick(), CLOSE)
    postings = ((ledger.cash("res"), -BOND), (ledger.bonds("town"), BOND))
    early = ev.OutcomeProposed("town", "res", 0, BOND, CLOSE, CLOSE + HOUR_US, (), "", postings)
    ex.apply(early)
    assert phase(ex) is Phase.PROPOSED and ex.next_timer() == DECIDE
    assert not of_type(tick(ex, 0), ev.ResolutionFinalized)  # T: the window still runs
    assert of_type(run(ex, cmd.Tick(), DECIDE), ev.ResolutionFinalized)
