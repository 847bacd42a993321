"""Numeric specs: sources read numbers; the median of the independent owners within the
tolerance, the persistence window within the tolerance, clamping, buckets; and the
scalar war-map scenario through ``Exchange.execute`` (one source edits a number for a few
hours around the observation time; the median and the window hold)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain.exchange import Exchange
from augury.domain.market import Status
from augury.domain.resolution import (
    HOUR_US,
    CsvSource,
    HtmlSource,
    HttpJsonSource,
    Numeric,
    Observation,
    Persistence,
    ResolutionSpec,
    encode_spec,
    evaluate_numeric,
)
from augury.domain.resolution import (
    Status as Verdict,
)
from augury.domain.resolution.numeric import bucket_of, lower_median
from augury.domain.scalar import ScalarRange
from augury.domain.units import ONE

from ..conftest import cash, of_type, open_account, reject, run
from .helpers import T_OBS, hourly

SHIPS = ScalarRange(low=0, high=2_000 * ONE, step=ONE, units="ships")
CLOSE = T_OBS - 24 * HOUR_US
START = T_OBS - 48 * HOUR_US


def at(hour: float) -> int:
    return T_OBS + int(hour * HOUR_US)


def ships_spec(quorum: int = 2, tolerance: int = 5 * ONE, hours: int = 12) -> ResolutionSpec:
    """Three owners count the ships: a JSON API, a CSV series and an HTML page."""
    return ResolutionSpec(
        sources=(
            HttpJsonSource(
                id="port", owner="Port Authority", url="https://port.example.org/api",
                path="$.transits.march",
            ),
            CsvSource(
                id="tracker", owner="Ship Tracker", url="https://tracker.example.com/m.csv",
                column="transits",
            ),
            HtmlSource(
                id="news", owner="Wire Agency", url="https://wire.example.com/strait",
                selector="#count",
            ),
        ),
        observation_at_us=T_OBS,
        persistence=Persistence(hours=hours),
        quorum=quorum,
        numeric=Numeric(units="ships", tolerance=tolerance),
    )  # fmt: skip


def hours(source: str, values: dict[int, str], end: int = 30) -> list[Observation]:
    return hourly(source, -24, end, values)


def decide(spec: ResolutionSpec, observations: list[Observation], hour: float) -> object:
    return evaluate_numeric(spec, observations, at(hour), SHIPS)


def test_lower_median_and_buckets() -> None:
    assert lower_median([3, 1, 2]) == 2 and lower_median([4, 1, 3, 2]) == 2
    assert [bucket_of((10, 20), v) for v in (-5, 9, 10, 19, 20, 99)] == [0, 0, 1, 1, 2, 2]


def test_the_median_of_agreeing_owners_within_the_tolerance() -> None:
    spec = ships_spec()
    obs = (
        hours("port", {-24: "1,200"})
        + hours("tracker", {-24: "1203.0"})
        + hours("news", {-24: "about 1,900 ships"})  # an outlier: outside the tolerance
    )
    d = evaluate_numeric(spec, obs, at(30), SHIPS)
    assert d.status is Verdict.PROPOSE
    assert d.value == 1_200 * ONE and d.outcome == 1_200  # lower median of 1200 and 1203
    assert d.decided_at_us == at(12)
    assert "agree within 5 ships" in d.explanation
    news = next(v for v in d.sources if v.source_id == "news")
    assert news.value == 1_900 * ONE  # settled, but outside the tolerance of the median
    assert not set(news.evidence) & set(d.evidence)


def test_owners_that_never_agree_hold_the_market() -> None:
    spec = ships_spec(quorum=2, tolerance=2 * ONE)
    obs = (
        hours("port", {-24: "1000"})
        + hours("tracker", {-24: "1100"})
        + hours("news", {-24: "1300"})
    )
    d = evaluate_numeric(spec, obs, at(30), SHIPS)
    assert d.status is Verdict.HOLD and "conflicting evidence" in d.explanation


def test_a_value_must_stay_within_the_tolerance_through_the_window() -> None:
    spec = ships_spec(quorum=2, tolerance=5 * ONE)
    # the port's count drifts by 3 (within 5): it holds; the tracker jumps by 40 at T+4h
    obs = hours("port", {-24: "1200", 2: "1203"}) + hours("tracker", {-24: "1200", 4: "1240"})
    d = evaluate_numeric(spec, obs, at(30), SHIPS)
    port, tracker = (v for v in d.sources if v.source_id in ("port", "tracker"))
    assert port.settled_at_us == at(12) and port.value == 1_200 * ONE
    assert tracker.settled_at_us is None and "stays within it" in tracker.note
    assert d.status is Verdict.PENDING


def test_values_outside_the_range_clamp() -> None:
    spec = ships_spec(quorum=2)
    obs = hours("port", {-24: "2,500"}) + hours("tracker", {-24: "2,502"})
    d = evaluate_numeric(spec, obs, at(30), SHIPS)
    assert d.status is Verdict.PROPOSE and d.value == 2_500 * ONE
    assert d.outcome == 2_000  # the grid index of the clamped value: high


def test_the_result_does_not_depend_on_the_input_order() -> None:
    spec = ships_spec()
    obs = hours("port", {-24: "1200"}) + hours("tracker", {-24: "1201"})
    assert evaluate_numeric(spec, obs, at(30), SHIPS) == evaluate_numeric(
        spec, list(reversed(obs)), at(30), SHIPS
    )


def test_a_reading_that_is_no_number_is_no_answer() -> None:
    spec = ships_spec()
    obs = hours("port", {-24: "n/a"}) + hours("tracker", {-24: "1200"})
    d = evaluate_numeric(spec, obs, at(30), SHIPS)
    port = next(v for v in d.sources if v.source_id == "port")
    assert port.settled_at_us is None and d.status is Verdict.PENDING


# -- the scalar war-map scenario, through the exchange ---------------------------------------
def world(spec: ResolutionSpec) -> Exchange:
    ex = Exchange()
    open_account(ex, "creator", 10_000 * ONE, START)
    for name in ("long", "short", "res", "dis", "arb1", "arb2", "arb3"):
        open_account(ex, name, 1_000 * ONE, START)
    create = cmd.CreateMarket(
        "ships", "creator", "How many ships transit the strait in March?", (), CLOSE,
        liquidity=100 * ONE, spec=encode_spec(spec).decode(), scalar=SHIPS,
    )  # fmt: skip
    run(ex, create, START)
    return ex


def observe(ex: Exchange, source: str, hour: int, value: str) -> tuple[ev.Event, ...]:
    digest = f"{source}{hour}{value}".encode().hex().ljust(64, "0")[:64]
    command = cmd.RecordObservation("ships", source, at(hour), True, value, digest, 200)
    return run(ex, command, at(hour))


def test_one_source_edits_its_number_for_hours_and_the_median_holds() -> None:
    """The port authority's page shows 1,950 from T-3h to T+2h (an edit, reverted); the
    other two owners read about 1,200 throughout. The edited source never settles (its
    number does not stay within the tolerance through the window) and the market resolves
    to the median of the other two, never to the edit."""
    ex = world(ships_spec(quorum=2, tolerance=5 * ONE))
    run(ex, cmd.PlaceOrder("long", "ships", 0, cmd.Side.BUY, qty=50 * ONE, price=700_000), START)
    run(ex, cmd.PlaceOrder("short", "ships", 0, cmd.Side.BUY, token=cmd.Token.NO,
                           qty=50 * ONE, price=700_000), START)  # fmt: skip
    events: list[ev.Event] = []
    readings: dict[str, Callable[[int], str]] = {
        "port": lambda h: "1,950" if -3 <= h <= 2 else "1,201",
        "tracker": lambda h: "1,199",
        "news": lambda h: f"{1_200 + (h % 3)} ships",  # jitters by 0..2
    }
    for h in range(-24, 64):
        for source, read in readings.items():
            if ex.markets["ships"].status is not Status.RESOLVED:
                events += observe(ex, source, h, read(h))
        if ex.markets["ships"].status is not Status.RESOLVED:
            events += run(ex, cmd.Tick(), at(h) + HOUR_US // 2)
    proposed = of_type(tuple(events), ev.OutcomeProposed)
    assert [(p.proposer, p.outcome) for p in proposed] == [("", 1_199)]
    assert proposed[0].at_us == at(12)
    assert "median is 1199 ships" in proposed[0].reason
    settled = of_type(tuple(events), ev.MarketSettled)
    assert settled and settled[0].weights == (599_500, 400_500)  # 1199 / 2000
    assert ex.markets["ships"].status is Status.RESOLVED


def test_proposals_disputes_and_votes_carry_numbers() -> None:
    ex = world(ships_spec(quorum=3, tolerance=0))  # three owners that never agree: held
    run(ex, cmd.MintSets("long", "ships", 10 * ONE), START)
    bad = cmd.ProposeOutcome("ships", "res", 0, 100 * ONE, value=1_300 * ONE)
    assert reject(ex, bad, START) == "market_not_closed"
    run(ex, cmd.Tick(), at(12))
    events = run(ex, cmd.ProposeOutcome("ships", "res", 0, 100 * ONE, value=1_300_400_000), at(12))
    assert of_type(events, ev.OutcomeProposed)[0].outcome == 1_300  # nearest whole ship
    events = run(
        ex, cmd.DisputeProposal("ships", "dis", 100 * ONE, "it was 1,250", value=1_250 * ONE),
        at(13),
    )  # fmt: skip
    assert of_type(events, ev.ProposalDisputed)[0].value == 1_250 * ONE
    assert ex.resolutions["ships"].dispute.value == 1_250 * ONE  # type: ignore[union-attr]
    assert reject(ex, cmd.CastVote("ships", "arb1", 5_000), at(14)) == "invalid_outcome"
    run(ex, cmd.CastVote("ships", "arb1", 0, value=1_250 * ONE), at(14))
    events = run(ex, cmd.CastVote("ships", "arb2", 0, value=1_250 * ONE), at(14))
    final = of_type(events, ev.ResolutionFinalized)[0]
    assert (final.outcome, final.by) == (1_250, "arbiters")
    assert of_type(events, ev.MarketSettled)[0].weights == (625_000, 375_000)
    assert cash(ex, "dis") > 1_000 * ONE  # the disputer was right


def test_a_value_is_refused_in_a_binary_market() -> None:
    ex = Exchange()
    open_account(ex, "creator", 100 * ONE, START)
    open_account(ex, "res", 1_000 * ONE, START)
    run(ex, cmd.CreateMarket("b", "creator", "?", ("YES", "NO"), CLOSE), START)
    propose = cmd.ProposeOutcome("b", "res", 0, 100 * ONE, value=ONE)
    assert reject(ex, propose, at(1)) == "invalid_outcome"


def test_a_bucketed_spec_resolves_a_categorical_market() -> None:
    spec = msgspec.structs.replace(
        ships_spec(), numeric=Numeric(units="ships", tolerance=5 * ONE, buckets=(1_000 * ONE,
                                                                                1_500 * ONE))
    )  # fmt: skip
    obs = hours("port", {-24: "1200"}) + hours("tracker", {-24: "1201"})
    d = evaluate_numeric(spec, obs, at(30))
    assert d.status is Verdict.PROPOSE and d.outcome == 1  # 1,000 <= 1,200 < 1,500
