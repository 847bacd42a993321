"""The edited-map story (docs/resolution.md): a market whose live map is edited for a
few hours and reverted, the planted longshot buyers, and the alerts that hold it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

from augury.demo_seed.seeder import EXTRA_STORIES, Seeder
from augury.demo_seed.stories import BOOKMAKER, DESK, HOUR_US, TICK
from augury.domain import commands as dc
from augury.domain.units import ONE

# -- the edited-map story (issue 6, docs/resolution.md) ----------------------------------
EDITED = "demo-myrnohrad-map"
EDITED_OUTCOMES = ("A holds the town", "B holds the town")
PLANTED = ("fresh-4417", "fresh-4418")
"""Two accounts opened the evening of the edit, which buy B at 0.3 cents."""
MAP_URL = "https://maps.example.org/front.geojson"
WIRE_URL = "https://api.wire.example.com/towns/myrnohrad"
EDITED_BEFORE_END_H = 38
"""The observation time T is this long before the end of the history, so that the
deadline (T + 12h persistence + 24h grace) has passed when a server starts on it."""
EDITED_SPAN_H = 30
"""The market opens this long before T."""


def _edited_spec(observation_at_us: int) -> dict[str, Any]:
    expect = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]
    return {
        "sources": [
            {
                "kind": "geojson", "id": "map", "owner": "Institute for Maps",
                "url": MAP_URL, "at": {"lon": 37.23, "lat": 48.30, "place": "Myrnohrad"},
                "property": "controlled_by", "expect": expect,
            },
            {
                "kind": "http_json", "id": "wire", "owner": "Wire Agency",
                "url": WIRE_URL, "path": "$.control.side", "expect": expect,
            },
        ],
        "observation_at_us": observation_at_us,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 48,
    }  # fmt: skip


def _war_map(side: str) -> bytes:
    """The think tank's front-line map: the town's polygon held by ``side``."""
    town = [[[37.20, 48.28], [37.26, 48.28], [37.26, 48.32], [37.20, 48.32], [37.20, 48.28]]]
    rear = [[[37.0, 48.0], [37.1, 48.0], [37.1, 48.1], [37.0, 48.1], [37.0, 48.0]]]
    features = [
        ("Myrnohrad", side, town),
        ("Rodynske", "A", rear),
    ]
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": name,
                "properties": {"name": name, "controlled_by": held},
                "geometry": {"type": "Polygon", "coordinates": ring},
            }
            for name, held, ring in features
        ],
    }
    return json.dumps(document, indent=1, sort_keys=True).encode()


def _wire(side: str) -> bytes:
    document = {"town": "Myrnohrad", "control": {"side": side, "confidence": "confirmed"}}
    return json.dumps(document, indent=1, sort_keys=True).encode()


def edited_map_story(s: Seeder) -> None:
    """The edited-map replay: a map owned by a think tank flips the town to B six hours
    before the observation time and back five hours later; an independent wire never
    flips; two fresh accounts buy B at 0.3 cents an hour before the flip. By the rules
    (2 of 2 sources, 12 hours' persistence) the market is proposed A, never B, and a high
    longshot alert, raised as the live watch raises it, holds the resolution."""
    t_us = s.end_us - EDITED_BEFORE_END_H * HOUR_US
    t_us -= t_us % HOUR_US
    if t_us - EDITED_SPAN_H * HOUR_US < s.begin_us:
        s.log("augury demo: the history is too short for the edited-map story (3 days)")
        return
    s.schedule(t_us - EDITED_SPAN_H * HOUR_US, lambda s: _edited_open(s, t_us))
    honest = (  # (hours before T, YES price, shares, bidder, taker of NO)
        (29, 960, 300, "kestrel", "heron"),
        (26, 975, 400, "osprey", "plover"),
        (22, 985, 250, "merlin", "dunlin"),
        (18, 990, 500, "avocet", "shrike"),
        (14, 994, 300, "curlew", "tern"),
    )
    for hours, price, qty, bidder, taker in honest:
        s.schedule(
            t_us - hours * HOUR_US,
            partial(_edited_trade, price=price, qty=qty, bidder=bidder, taker=taker),
        )
    s.schedule(t_us - 9 * HOUR_US, _edited_bid)
    s.schedule(t_us - 8 * HOUR_US, _edited_newcomers)
    s.schedule(t_us - 7 * HOUR_US, _edited_planted)
    previous: dict[str, bytes] = {}
    for hour in range(-24, 36):  # hourly, from the lookback to the deadline
        at = t_us + hour * HOUR_US
        s.schedule(at, partial(_edited_observe, hour=hour, at_us=at, previous=previous))


def _edited_open(s: Seeder, t_us: int) -> None:
    spec = _edited_spec(t_us)
    s.services.identity.save_market_meta(
        EDITED,
        description="The edited-map replay: a frontline town decided by two independent "
        "sources that must agree and hold for 12 hours, so one edited map cannot decide it.",
        rules="The answer is the side that both the Institute for Maps' front-line map and "
        "the Wire Agency's feed show holding Myrnohrad at the observation time, each "
        "unchanged for 12 hours.",
        category="conflict",
        resolution_spec=spec,
        created_by=DESK,
    )
    when = datetime.fromtimestamp(t_us / 1e6, UTC).strftime("%-d %B %Y %H:%M UTC")
    result = s.run(
        dc.CreateMarket(
            market=EDITED,
            creator=DESK,
            question=f"Who holds Myrnohrad at the observation time ({when})?",
            outcomes=EDITED_OUTCOMES,
            close_at=t_us,
            tick=TICK,
            spec=json.dumps(spec, separators=(",", ":")),
        ),
        DESK,
    )
    if not result.ok:
        s.services.identity.delete_market_meta(EDITED)
        raise RuntimeError(f"cannot create {EDITED}: {result.code} {result.message}")
    s.extra_markets.append(EDITED)


def _edited_trade(s: Seeder, price: int, qty: int, bidder: str, taker: str) -> None:
    """An honest trade on the book: one bids A (YES) at ``price``, the other takes B."""
    s.run_all(
        [
            (_limit(bidder, dc.Token.YES, price * TICK, qty), bidder),
            (_limit(taker, dc.Token.NO, ONE - price * TICK, qty, ioc=True), taker),
        ]
    )


def _limit(account: str, token: dc.Token, price: int, qty: int, ioc: bool = False) -> dc.PlaceOrder:
    return dc.PlaceOrder(
        account,
        EDITED,
        0,
        dc.Side.BUY,
        token,
        qty=qty * ONE,
        price=price,
        tif=dc.TimeInForce.IOC if ioc else dc.TimeInForce.GTC,
    )


def _edited_bid(s: Seeder) -> None:
    """The book keeper bids A at 99.7%: B can be had at 0.3 cents."""
    s.run(_limit(BOOKMAKER, dc.Token.YES, 997 * TICK, 6_000), BOOKMAKER)


def _edited_newcomers(s: Seeder) -> None:
    commands: list[tuple[dc.Command, str]] = []
    for account in PLANTED:
        commands.append((dc.OpenAccount(account), account))
        commands.append((dc.GrantCredits(account, 100 * ONE, "demo grant"), account))
    s.run_all(commands)


def _edited_planted(s: Seeder) -> None:
    s.run_all([(_limit(a, dc.Token.NO, 3 * TICK, 2_000, ioc=True), a) for a in PLANTED])


def _edited_observe(s: Seeder, hour: int, at_us: int, previous: dict[str, bytes]) -> None:
    """What the server's observer would journal at ``at_us``: each source's raw bytes go
    to the evidence store, the observation (hash, value, status, change) to the journal."""
    from augury.domain.resolution import decode_spec
    from augury.evidence.diff import describe_change
    from augury.evidence.readers import ReadError, read_value
    from augury.roles.observer import evidence_store

    store = evidence_store(s.services)  # where the server's observer keeps them
    spec = decode_spec(json.dumps(_edited_spec(at_us - hour * HOUR_US)))
    served = {
        "map": (200, _war_map("B" if -6 <= hour < -1 else "A")),
        "wire": (200, _wire("A")) if hour != -15 else (503, b"upstream unavailable\n"),
    }
    for source in spec.sources:
        status, body = served[source.id]
        url = MAP_URL if source.id == "map" else WIRE_URL
        sha = store.put(body)
        ok, value, code, error, change = status == 200, None, "", "", None
        if ok:
            try:
                value = read_value(source, body)
            except ReadError as exc:
                ok, code, error = False, exc.code, exc.message
            kind = "geojson" if source.id == "map" else "http_json"
            change = describe_change(kind, previous.get(source.id), body)
            previous[source.id] = body
        else:
            code, error = "http_status", f"HTTP status {status}"
        result = s.run(
            dc.RecordObservation(
                market=EDITED,
                source_id=source.id,
                fetched_at_us=at_us,
                ok=ok,
                value=value if ok else None,
                content_sha256=sha,
                http_status=status,
                error_code=code,
                error=error,
                change=change,
                url=url,
            )
        )
        if not result.ok:
            raise RuntimeError(f"observation refused: {result.code} {result.message}")
    if hour == -6:  # the flip: the live watch would raise its findings now
        _edited_alerts(s)


def _edited_alerts(s: Seeder) -> None:
    """Run the detectors over the journal so far, as the server's watch does, and raise
    their findings on this market as journaled ``RaiseAlert`` commands."""
    from augury.journal import open_store
    from augury.watch import Follower

    settings = s.services.settings
    url = settings.database_url or str(settings.data_dir / "journal.db")
    store = open_store(url, namespace=settings.journal_namespace)
    try:
        follower = Follower()
        follower.read(store)
        found = [a for a in follower.new_alerts() if a.market == EDITED]
    finally:
        store.close()
    for command in found:
        s.run(command)


EXTRA_STORIES.append(edited_map_story)
