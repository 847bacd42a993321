"""What the server-rendered pages show, read from the live exchange and the read models.

Only reads: the maker's prices (on the engine thread), volumes and price history
(candles in the read models). Amounts stay integers until they are formatted here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from augury.domain import lmsr
from augury.domain.exchange import Exchange
from augury.domain.units import ONE, format_micros
from augury.projections import tables as t
from augury.settings import parse_instant_us

SPARK_POINTS = 48
SPARK_W = 120
SPARK_H = 32


@dataclass(frozen=True, slots=True)
class Row:
    """One market in the list."""

    id: str
    question: str
    category: str
    status: str
    close_time: str
    closes: str
    leader: str
    lead: int
    """The outcome whose probability the row shows (the leader of a categorical market)."""
    probability: str
    volume: str
    volume_micros: int
    spark: str
    spark_label: str


def maker_prices(ex: Exchange, ids: list[str]) -> dict[str, list[int] | None]:
    """Each market's LMSR prices (None without a maker). Engine thread only."""
    out: dict[str, list[int] | None] = {}
    for market_id in ids:
        market = ex.markets.get(market_id)
        if market is None or not market.has_maker:
            out[market_id] = None
        else:
            out[market_id] = list(lmsr.marginal_prices(market.liquidity, market.q))
    return out


def volumes(engine: Engine) -> dict[str, int]:
    """Traded shares per market, all time (micro-shares)."""
    c = t.candles
    query = select(c.c.market, func.sum(c.c.volume)).where(c.c.interval == "1d")
    with engine.connect() as conn:
        rows = conn.execute(query.group_by(c.c.market)).all()
    return {market: int(total or 0) for market, total in rows}


def closes(engine: Engine, ids: list[str]) -> dict[tuple[str, int], list[int]]:
    """Hourly closing prices per (market, outcome), oldest first."""
    if not ids:
        return {}
    c = t.candles
    query = (
        select(c.c.market, c.c.outcome, c.c.close)
        .where(c.c.interval == "1h", c.c.market.in_(ids))
        .order_by(c.c.market, c.c.outcome, c.c.bucket_us)
    )
    out: dict[tuple[str, int], list[int]] = defaultdict(list)
    with engine.connect() as conn:
        for market, outcome, close in conn.execute(query):
            out[(market, outcome)].append(int(close))
    return dict(out)


def sparkline(series: list[int]) -> str:
    """SVG polyline points for a price series (micros), scaled to the box."""
    if len(series) > SPARK_POINTS:
        step = len(series) / SPARK_POINTS
        series = [series[int(i * step)] for i in range(SPARK_POINTS - 1)] + [series[-1]]
    if len(series) < 2:
        return ""
    span = max(max(series) - min(series), ONE // 20)
    low = (min(series) + max(series) - span) / 2
    points = []
    for i, value in enumerate(series):
        x = i * SPARK_W / (len(series) - 1)
        y = SPARK_H - 2 - (value - low) * (SPARK_H - 4) / span
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def percent(micros: int) -> str:
    return f"{micros * 100 / ONE:.0f}%" if micros >= ONE // 100 else f"{micros * 100 / ONE:.1f}%"


def shares(micros: int) -> str:
    value = micros / ONE
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:.0f}"


def when(instant: str) -> str:
    """'2026-01-31T00:00:00Z' -> '31 Jan 2026, 00:00 UTC'."""
    moment = datetime.fromtimestamp(parse_instant_us(instant) / 1e6, UTC)
    return moment.strftime("%d %b %Y, %H:%M UTC")


def rows(
    markets: list[dict[str, Any]],
    prices: dict[str, list[int] | None],
    volume: dict[str, int],
    history: dict[tuple[str, int], list[int]],
) -> list[Row]:
    out = []
    for m in markets:
        market_id = m["id"]
        outcomes: list[str] = m["outcomes"]
        current = prices.get(market_id)
        if current is None:  # no maker: the last traded price of each outcome
            current = [
                history[(market_id, i)][-1] if (market_id, i) in history else -1
                for i in range(len(outcomes) if m["categorical"] else 1)
            ]
        lead = max(range(len(current)), key=current.__getitem__) if m["categorical"] else 0
        price = current[lead] if lead < len(current) else -1
        series = history.get((market_id, lead), [])
        out.append(
            Row(
                id=market_id,
                question=m["question"],
                category=m["category"],
                status=m["status"],
                close_time=m["close_time"],
                closes=when(m["close_time"]),
                leader=outcomes[lead] if m["categorical"] else outcomes[0],
                lead=lead,
                probability=percent(price) if price >= 0 else "–",
                volume=shares(volume.get(market_id, 0)),
                volume_micros=volume.get(market_id, 0),
                spark=sparkline(series),
                spark_label=(
                    f"{outcomes[lead]}: from {percent(series[0])} to {percent(series[-1])}"
                    if len(series) >= 2
                    else "no trades yet"
                ),
            )
        )
    return out


def spec_in_words(spec: dict[str, Any], outcomes: list[str]) -> list[str]:
    """A resolution spec (docs/resolution.md) as sentences; unknown shapes say little."""
    words: list[str] = []
    sources = spec.get("sources")
    if isinstance(sources, list) and sources:
        quorum = spec.get("quorum")
        owners = {s.get("owner") for s in sources if isinstance(s, dict)}
        if isinstance(quorum, int):
            words.append(
                f"Decided when {quorum} of {len(sources)} sources agree "
                f"({len(owners)} independent owners)."
            )
        for source in sources:
            if isinstance(source, dict):
                words.append(_source_words(source, outcomes))
    observed = spec.get("observation_at_us")
    if isinstance(observed, int):
        moment = datetime.fromtimestamp(observed / 1e6, UTC).strftime("%d %b %Y, %H:%M UTC")
        words.append(f"The sources are read at {moment}.")
    persistence = spec.get("persistence")
    if isinstance(persistence, dict):
        hours = persistence.get("hours") or 0
        if persistence.get("through_next_update"):
            interval = persistence.get("update_interval_hours") or 0
            least = f", and at least {hours} hours" if hours else ""
            words.append(
                f"An answer must hold through the source's next update (every {interval} hours)"
                f"{least}."
            )
        elif hours:
            words.append(f"An answer must hold for {hours} hours before it counts.")
    fallback = spec.get("fallback")
    if isinstance(fallback, dict):
        kind = fallback.get("kind")
        text = {
            "hold": "If the sources do not settle, the market is held for the arbiters.",
            "void": "If the sources do not settle, the market is voided and refunded.",
            "extend": f"If the sources do not settle, the observation moves "
            f"{fallback.get('by_hours')} hours later.",
        }.get(str(kind))
        if text:
            words.append(text)
    window = spec.get("challenge_window_hours")
    if isinstance(window, int):
        words.append(f"A proposed outcome can be challenged for {window} hours.")
    numeric = spec.get("numeric")
    if isinstance(numeric, dict):
        words.append(_numeric_words(numeric))
    return words


def _numeric_words(numeric: dict[str, Any]) -> str:
    """How a numeric spec decides (docs/resolution.md, "Numeric specs")."""
    units = str(numeric.get("units", ""))
    tolerance = numeric.get("tolerance", 0)
    within = f"{format_micros(tolerance)} {units}" if isinstance(tolerance, int) else "?"
    return (
        f"Each source reads a number in {units}; the market takes the median of the "
        f"independent owners' numbers, which must agree within {within}, and a number "
        f"must stay within {within} through the persistence window."
    )


def scalar_lines(view: dict[str, Any] | None) -> list[str]:
    """A scalar market's range and payout, as the rules panel shows them."""
    if not view:
        return []
    units, low, high = view["units"], view["low"], view["high"]
    lines = [
        f"Range: {low} to {high} {units}, in steps of {view['step']} {units}; "
        "a value outside the range counts as its nearest end.",
        f"A LONG share pays (value - {low}) / ({high} - {low}) credits, rounded down to a "
        "millionth of a credit; a SHORT share pays the rest, so a LONG and a SHORT "
        "together always pay exactly 1 credit.",
        f"A LONG price p means the market expects {low} + p x ({high} - {low}) {units}.",
    ]
    if view.get("resolved_value") is not None:
        lines.append(f"Resolved to {view['resolved_value']} {units}.")
    return lines


def _source_words(source: dict[str, Any], outcomes: list[str]) -> str:
    kind = source.get("kind", "source")
    owner = source.get("owner", "an unnamed owner")
    what = {
        "geojson": "map layer",
        "http_json": "data feed",
        "html": "web page",
        "attestation": "signed statement",
        "csv": "CSV table",
    }.get(str(kind), str(kind))
    place = ""
    at = source.get("at")
    if isinstance(at, dict) and at.get("place"):
        place = f" at {at['place']}"
    answers, by_name = [], True
    for row in source.get("expect") or []:
        if isinstance(row, dict) and isinstance(row.get("outcome"), int):
            index = row["outcome"]
            name = outcomes[index] if 0 <= index < len(outcomes) else f"#{index}"
            answers.append(f"“{row.get('value')}” means {name}")
            by_name = by_name and row.get("value") == name
    if by_name and answers:
        tail = ", naming the outcome"
    else:
        tail = f": {'; '.join(answers)}" if answers else ""
    return f"{owner} ({what}{place}){tail}."


# -- resolution: the rules version of trades, and the console's queues -----------------
def fills_by_rules_version(engine: Engine, market: str) -> list[tuple[int, int]]:
    """(rules version, number of fills) of a market's trades, oldest version first."""
    f = t.fills
    query = (
        select(f.c.rules_version, func.count())
        .where(f.c.market == market)
        .group_by(f.c.rules_version)
        .order_by(f.c.rules_version)
    )
    with engine.connect() as conn:
        return [(int(v), int(n)) for v, n in conn.execute(query).all()]


@dataclass(frozen=True, slots=True)
class Waiting:
    """A market whose resolution waits for a resolver or the arbiters (console)."""

    id: str
    question: str
    outcomes: list[str]
    status: str
    """The market's status (open, closed, ...)."""
    phase: str
    """Its resolution's phase (collecting, proposed, disputed, held, final)."""
    close_at_us: int
    proposal: str
    """The proposed outcome's name and who proposed it; "" without one."""
    dispute: str
    held_reason: str
    holding_alerts: list[int]
    votes: list[tuple[str, str]]
    """(arbiter, outcome name) so far."""
    rules_say: str
    """What the rules say now, while collecting."""
    proposal_bond: int
    """The spec's proposal bond in micros (what the form suggests)."""


def _name(outcomes: tuple[str, ...], index: int) -> str:
    if index == -1:
        return "Void"
    return outcomes[index] if 0 <= index < len(outcomes) else f"outcome {index}"


def waiting(ex: Exchange, now_us: int) -> list[Waiting]:
    """Markets with a resolution still to decide (engine thread), oldest close first:
    closed ones collecting evidence (for resolvers), and proposed, disputed or held ones."""
    from augury.domain.resolution.numeric import evaluate_any
    from augury.domain.resolution.process import spec_of

    out = []
    for market_id, r in ex.resolutions.items():
        market = ex.markets.get(market_id)
        if market is None or r.phase.value == "final":
            continue
        status = market.status.value
        phase = r.phase.value
        if phase == "collecting" and status != "closed":
            continue
        spec = spec_of(r)
        rules_say = ""
        if spec is not None and phase == "collecting":
            rules_say = evaluate_any(spec, r.observations, now_us, market.scalar).explanation
        p, d = r.proposal, r.dispute
        proposal = ""
        if p is not None:
            who = p.proposer or "the rules"
            proposal = f"{_name(market.outcomes, p.outcome)} (by {who})"
        out.append(
            Waiting(
                id=market_id,
                question=market.question,
                outcomes=list(market.outcomes),
                status=status,
                phase=phase,
                close_at_us=market.close_at,
                proposal=proposal,
                dispute="" if d is None else f"{d.disputer}: {d.reason}".rstrip(": "),
                held_reason=r.held_reason,
                holding_alerts=list(r.holding_alerts),
                votes=[(a, _name(market.outcomes, o)) for a, o in r.votes],
                rules_say=rules_say,
                proposal_bond=spec.bonds.proposal if spec is not None else 100 * ONE,
            )
        )
    out.sort(key=lambda w: (w.close_at_us, w.id))
    return out


def credits(micros: int) -> str:
    """Micro-credits as a plain decimal string for a form field ("100", "2.5")."""
    whole, part = divmod(micros, ONE)
    return str(whole) if not part else f"{whole}.{part:06d}".rstrip("0")


def when_us(instant_us: int) -> str:
    """``when`` of an instant in microseconds."""
    return datetime.fromtimestamp(instant_us / 1e6, UTC).strftime("%d %b %Y, %H:%M UTC")
