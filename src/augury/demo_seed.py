"""``augury demo seed``: a living demo exchange, seeded through the engine's journal.

A dozen world-events markets (binary and categorical) and a few weeks of trading by
scripted accounts: each market has a latent "crowd" probability that drifts toward a
scripted true probability, jumps on scripted news, and wanders (a random walk in log
odds). Traders see it with their own noise and trade the gap to the market maker's
price with budgets sized by their conviction; a book-keeping account posts GTD limit
orders around the price, so there is depth and they expire on their own. One market
closes during the history and awaits resolution.

Everything is an ordinary journaled command run by the engine on a simulated clock
that starts ``days`` before ``end`` (default: now), so the history has real timestamps
and a server on the system clock carries on from there; the RNG is seeded, so the same
seed and window give the same journal. Seeding is idempotent: when a demo market exists
already it does nothing. Never in production mode (the CLI refuses).

The edited-map story (issue 6) is a hook: append a function to ``EXTRA_STORIES``; it
runs after the simulation with the seeder (engine, clock, accounts) in hand.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from augury.api.services import AdminCallback, Services, print_admin
from augury.domain import commands as dc
from augury.domain import lmsr
from augury.domain.exchange import Exchange, Result
from augury.domain.units import ONE
from augury.engine import AdvanceClock
from augury.settings import Settings, format_instant

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
TICK = 1_000  # 0.001 credit
DESK = "demo-desk"
"""Creates the demo markets and funds their market makers."""
BOOKMAKER = "demo-book"
"""Posts GTD limit orders around the price, so every book has depth."""
TRADERS = (
    "kestrel", "osprey", "heron", "plover", "merlin", "avocet", "dunlin", "shrike",
    "curlew", "tern", "godwit", "linnet",
)  # fmt: skip
STEPS_PER_DAY = 8
DEFAULT_DAYS = 21
DEFAULT_SEED = 20251115


@dataclass(frozen=True, slots=True)
class Story:
    """One demo market and how its crowd's belief moves."""

    id: str
    question: str
    """May name ``{close}`` (the closing date) or ``{month}`` (the month before it)."""
    category: str
    outcomes: tuple[str, ...]
    start: tuple[float, ...]
    """Opening probabilities (the maker starts flat; early trading moves it there)."""
    truth: tuple[float, ...]
    """Where the crowd drifts to, until news changes it."""
    close_days: int
    """Days after the end of the history; negative: closes during it and is resolved."""
    liquidity: int
    """The maker's b, in shares."""
    activity: float
    """Expected taker orders per step."""
    description: str
    rules: str
    news: tuple[tuple[float, tuple[float, ...]], ...] = ()
    """(fraction of the history, new truth) pairs."""
    winner: int | None = None
    """The answer, for a market that closes during the history (resolving it is left to
    the resolution flow: a closed market awaits its resolvers)."""
    sources: tuple[tuple[str, str, str], ...] = ()
    """(kind, owner, url) of the resolution sources."""

    @property
    def categorical(self) -> bool:
        return len(self.outcomes) > 2


def _src(kind: str, owner: str, url: str) -> tuple[str, str, str]:
    return (kind, owner, url)


STORIES: tuple[Story, ...] = (
    Story(
        "demo-ceasefire",
        "Will a general ceasefire between Russia and Ukraine take effect before {close}?",
        "conflict",
        ("Yes", "No"),
        (0.22, 0.78),
        (0.14, 0.86),
        120,
        1_500,
        3.0,
        "A ceasefire covering the whole front line, announced by both governments.",
        "Yes if both governments announce a general ceasefire and it takes effect before "
        "the closing date. Local or humanitarian pauses do not count.",
        news=((0.35, (0.27, 0.73)), (0.55, (0.12, 0.88))),
        sources=(
            _src("http_json", "Wire Agency", "https://api.wire.example.com/ceasefire"),
            _src("html", "UN OCHA", "https://ocha.example.org/ukraine/situation"),
            _src("html", "Public Broadcaster", "https://news.example.net/live/ukraine"),
        ),
    ),
    Story(
        "demo-pokrovsk-control",
        "Who will control the centre of Pokrovsk on {close}, per two of three conflict maps?",
        "conflict",
        ("Russian forces", "Ukrainian forces", "Contested"),
        (0.45, 0.2, 0.35),
        (0.62, 0.1, 0.28),
        45,
        1_000,
        2.5,
        "The frontline-town market: resolved on maps that must agree and hold.",
        "The answer is the side two of the three listed maps show in control of the "
        "town centre at the observation time, holding through each map's next update.",
        news=((0.4, (0.7, 0.06, 0.24)),),
        sources=(
            _src("geojson", "Institute for Maps", "https://maps.example.org/front.geojson"),
            _src("geojson", "Open Conflict Monitor", "https://ocm.example.net/areas.geojson"),
            _src("geojson", "Defence Analysts", "https://da.example.com/control.geojson"),
        ),
    ),
    Story(
        "demo-trilateral-summit",
        "Will Japan, South Korea and the United States hold a trilateral leaders' summit "
        "before {close}?",
        "east-asia",
        ("Yes", "No"),
        (0.5, 0.5),
        (0.64, 0.36),
        150,
        800,
        1.6,
        "Alliance politics in East Asia: a stand-alone leaders' meeting of the three.",
        "Yes if the three heads of government meet in a trilateral summit (not only on "
        "the margins of a larger meeting) before the closing date.",
        news=((0.6, (0.71, 0.29)),),
        sources=(
            _src("html", "Prime Minister's Office of Japan", "https://kantei.example.jp/"),
            _src("html", "Office of the President (ROK)", "https://president.example.kr/"),
            _src("html", "The White House", "https://whitehouse.example.gov/briefings"),
        ),
    ),
    Story(
        "demo-taiwan-drills",
        "Will China hold a named large-scale military exercise around Taiwan before {close}?",
        "east-asia",
        ("Yes", "No"),
        (0.38, 0.62),
        (0.46, 0.54),
        90,
        800,
        1.8,
        "A named, announced joint exercise encircling Taiwan (like 'Strait Thunder').",
        "Yes if the PLA Eastern Theater Command announces a named exercise around Taiwan "
        "before the closing date.",
        news=((0.7, (0.58, 0.42)),),
        sources=(
            _src("html", "Eastern Theater Command", "https://etc.example.cn/"),
            _src("html", "Taiwan Ministry of National Defense", "https://mnd.example.tw/"),
        ),
    ),
    Story(
        "demo-hungary-election",
        "Which party will win the most seats in Hungary's next parliamentary election?",
        "elections",
        ("Fidesz–KDNP", "Tisza", "Another party"),
        (0.5, 0.45, 0.05),
        (0.44, 0.53, 0.03),
        200,
        1_200,
        2.2,
        "The party list (or alliance) with the most seats in the National Assembly.",
        "Resolved on the official final results of the National Election Office.",
        news=((0.5, (0.4, 0.57, 0.03)),),
        sources=(
            _src("http_json", "National Election Office", "https://valasztas.example.hu/api"),
            _src("html", "Wire Agency", "https://wire.example.com/hungary-results"),
        ),
    ),
    Story(
        "demo-eurozone-hicp",
        "Will euro-area flash HICP inflation for {month} be at or above 2.0%?",
        "economics",
        ("Yes", "No"),
        (0.55, 0.45),
        (0.62, 0.38),
        40,
        600,
        1.4,
        "The economic indicator: Eurostat's flash estimate, annual rate.",
        "Yes if Eurostat's flash estimate of the euro-area annual HICP rate for the month "
        "is 2.0% or higher.",
        sources=(
            _src("http_json", "Eurostat", "https://ec.example.eu/eurostat/api/hicp"),
            _src("html", "European Central Bank", "https://ecb.example.eu/stats"),
        ),
    ),
    Story(
        "demo-fed-cut",
        "Will the US Federal Reserve lower its target range at its next meeting before {close}?",
        "economics",
        ("Yes", "No"),
        (0.4, 0.6),
        (0.31, 0.69),
        35,
        900,
        2.4,
        "The federal funds target range after the next FOMC decision.",
        "Yes if the FOMC statement lowers the target range.",
        news=((0.3, (0.45, 0.55)), (0.75, (0.25, 0.75))),
        sources=(
            _src("html", "Federal Reserve Board", "https://federalreserve.example.gov/"),
            _src("http_json", "Wire Agency", "https://api.wire.example.com/fomc"),
        ),
    ),
    Story(
        "demo-brent-range",
        "Where will Brent crude settle on {close}?",
        "economics",
        ("Below $60", "$60 to $75", "Above $75"),
        (0.3, 0.55, 0.15),
        (0.36, 0.54, 0.1),
        60,
        700,
        1.5,
        "The front-month Brent futures settlement price on the closing date.",
        "Resolved on the exchange's published settlement price, in US dollars a barrel.",
        sources=(
            _src("http_json", "ICE Futures Europe", "https://ice.example.com/brent/settle"),
            _src("http_json", "Energy Information Agency", "https://eia.example.gov/brent"),
        ),
    ),
    Story(
        "demo-gaza-phase-two",
        "Will the second phase of the Gaza ceasefire begin before {close}?",
        "conflict",
        ("Yes", "No"),
        (0.3, 0.7),
        (0.24, 0.76),
        75,
        900,
        2.0,
        "The start of the agreement's second phase, as announced by the mediators.",
        "Yes if the mediators announce that the second phase has begun before the closing date.",
        news=((0.45, (0.36, 0.64)), (0.8, (0.2, 0.8))),
        sources=(
            _src("html", "Mediators' joint statement", "https://mediators.example.org/"),
            _src("http_json", "Wire Agency", "https://api.wire.example.com/gaza"),
        ),
    ),
    Story(
        "demo-sudan-truce",
        "Will Sudan's warring parties agree a humanitarian truce before {close}?",
        "conflict",
        ("Yes", "No"),
        (0.18, 0.82),
        (0.13, 0.87),
        100,
        500,
        0.9,
        "A truce signed by both the Sudanese Armed Forces and the Rapid Support Forces.",
        "Yes if both parties sign a humanitarian truce before the closing date.",
        sources=(
            _src("html", "African Union", "https://au.example.int/press"),
            _src("http_json", "Wire Agency", "https://api.wire.example.com/sudan"),
        ),
    ),
    Story(
        "demo-us-payrolls",
        "Will US nonfarm payrolls for {month} (first print) exceed 100,000?",
        "economics",
        ("Yes", "No"),
        (0.6, 0.4),
        (0.52, 0.48),
        50,
        700,
        1.3,
        "The Bureau of Labor Statistics' first estimate of the monthly change.",
        "Yes if the first published estimate of the change in nonfarm payrolls is above 100,000.",
        sources=(
            _src("http_json", "Bureau of Labor Statistics", "https://bls.example.gov/api"),
            _src("html", "Wire Agency", "https://wire.example.com/payrolls"),
        ),
    ),
    Story(
        "demo-korea-base-rate",
        "Will the Bank of Korea cut its base rate at its next meeting?",
        "east-asia",
        ("Yes", "No"),
        (0.45, 0.55),
        (0.2, 0.8),
        -7,
        600,
        1.6,
        "The Monetary Policy Board's decision at the meeting after the market opened.",
        "Yes if the Bank of Korea announces a lower base rate at that meeting.",
        news=((0.5, (0.1, 0.9)),),
        winner=1,
        sources=(
            _src("html", "Bank of Korea", "https://bok.example.kr/decisions"),
            _src("http_json", "Wire Agency", "https://api.wire.example.com/bok"),
        ),
    ),
)


@dataclass
class Seeder:
    """What the simulation (and an extra story) works with."""

    services: Services
    rng: random.Random
    begin_us: int
    end_us: int
    now_us: int
    log: Callable[[str], None]
    commands: int = 0
    refused: int = 0
    stories: dict[str, Story] = field(default_factory=dict)
    extra_markets: list[str] = field(default_factory=list)
    """Markets created by the extra stories."""
    scheduled: list[tuple[int, int, Callable[[Seeder], None]]] = field(default_factory=list)

    def run(self, command: dc.Command, account: str = "") -> Result:
        result = self.services.engine.submit(command, account).result()
        self._count(result)
        return result

    def run_all(self, commands: Sequence[tuple[dc.Command, str]]) -> list[Result]:
        """Submit several commands at once (one group commit), then wait for them all."""
        engine = self.services.engine
        futures = [engine.submit(command, account) for command, account in commands]
        results = [future.result() for future in futures]
        for result in results:
            self._count(result)
        return results

    def _count(self, result: Result) -> None:
        if result.ok:
            self.commands += 1
        else:
            self.refused += 1

    def advance(self, to_us: int) -> None:
        if to_us > self.now_us:
            self.run(AdvanceClock(to_us))
            self.now_us = to_us

    def query(self, fn: Callable[[Exchange], Any]) -> Any:
        return self.services.engine.query(fn).result()

    def schedule(self, at_us: int, step: Callable[[Seeder], None]) -> None:
        """Run ``step`` when the simulation reaches ``at_us`` (the clock advanced there
        first; steps due at the same instant run in the order they were scheduled)."""
        self.scheduled.append((at_us, len(self.scheduled), step))

    def run_due(self, until_us: int) -> None:
        """Run every scheduled step due at or before ``until_us``, in time order."""
        self.scheduled.sort(key=lambda item: (item[0], item[1]))
        while self.scheduled and self.scheduled[0][0] <= until_us:
            at_us, _, step = self.scheduled.pop(0)
            self.advance(at_us)
            step(self)


StoryHook = Callable[[Seeder], None]
EXTRA_STORIES: list[StoryHook] = []
"""Scripted stories, called in order after the markets are created and before the
simulation: each may create its own market and ``schedule`` steps at moments of the
history (they run between the simulation's steps, on the same clock)."""


@dataclass(frozen=True, slots=True)
class SeedReport:
    seeded: bool
    markets: int
    commands: int
    refused: int
    begin: str
    end: str
    message: str


def journal_is_empty(settings: Settings) -> bool:
    """True when the journal has no record yet (or does not exist)."""
    if settings.database_url:
        from augury.journal import PostgresJournalStore

        dsn = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with PostgresJournalStore(dsn, settings.journal_namespace) as pg_store:
            return pg_store.count() == 0
    from augury.journal import SqliteJournalStore

    path = settings.data_dir / "journal.db"
    if not path.is_file():
        return True
    with SqliteJournalStore(path) as sqlite_store:
        return sqlite_store.count() == 0


def seed(
    settings: Settings,
    *,
    days: int = DEFAULT_DAYS,
    rng_seed: int = DEFAULT_SEED,
    end_us: int | None = None,
    on_admin_created: AdminCallback = print_admin,
    log: Callable[[str], None] = print,
) -> SeedReport:
    """Seed the demo into the journal of ``settings`` (the server must not be running)."""
    if settings.production:
        raise ValueError("the demo is never seeded in production mode")
    if days < 1:
        raise ValueError("days must be at least 1")
    end = end_us if end_us is not None else int(datetime.now(UTC).timestamp()) * 1_000_000
    end -= end % HOUR_US
    start = end - days * DAY_US
    update: dict[str, Any] = {"clock": "simulated", "start": format_instant(start)}
    if "surveillance" in Settings.model_fields:
        # No watcher while seeding: its alerts would interleave with the script at moments
        # that depend on thread timing (not repeatable); the server's watcher reads the
        # whole journal when it starts.
        update["surveillance"] = False
    simulated = settings.model_copy(update=update)
    services = Services.start(simulated, on_admin_created)
    try:
        begin = services.now_us()  # later than start if the journal already has records
        if begin > start:
            log(
                f"augury demo: the journal already runs to {format_instant(begin)}; "
                "the demo's history starts there"
            )
        end = max(end, begin)
        seeder = Seeder(services, random.Random(rng_seed), begin, end, begin, log)
        present = seeder.query(lambda ex: [s.id for s in STORIES if s.id in ex.markets])
        if present:
            return SeedReport(
                False, 0, 0, 0, format_instant(begin), format_instant(end),
                f"the demo is already there ({len(present)} demo markets); nothing to do",
            )  # fmt: skip
        _accounts(seeder)
        _markets(seeder)
        for story in EXTRA_STORIES:
            story(seeder)
        _simulate(seeder, days * STEPS_PER_DAY)
        seeder.run_due(end)
        seeder.advance(end)
        markets = len(seeder.stories) + len(seeder.extra_markets)
        return SeedReport(
            True,
            markets,
            seeder.commands,
            seeder.refused,
            format_instant(begin),
            format_instant(seeder.now_us),
            f"seeded {markets} markets with {seeder.commands} journaled commands "
            f"from {format_instant(begin)} to {format_instant(seeder.now_us)}",
        )
    finally:
        services.stop()


# -- setting up ------------------------------------------------------------------------
def _accounts(s: Seeder) -> None:
    grants = [(DESK, 200_000), (BOOKMAKER, 400_000)] + [(t, 20_000) for t in TRADERS]
    commands: list[tuple[dc.Command, str]] = []
    for account, credits in grants:
        commands.append((dc.OpenAccount(account), account))
        commands.append((dc.GrantCredits(account, credits * ONE, "demo grant"), account))
    s.run_all(commands)


def _dates(story: Story, end_us: int) -> tuple[int, str]:
    close_us = end_us + story.close_days * DAY_US
    close_us -= close_us % DAY_US
    return close_us, datetime.fromtimestamp(close_us / 1e6, UTC).strftime("%-d %B %Y")


def _month_before(close_us: int) -> str:
    moment = datetime.fromtimestamp(close_us / 1e6, UTC).replace(day=1) - timedelta(days=1)
    return moment.strftime("%B %Y")


def _spec(story: Story, close_us: int) -> dict[str, Any]:
    expect = [{"outcome": i, "value": name} for i, name in enumerate(story.outcomes)]
    sources: list[dict[str, Any]] = []
    for i, (kind, owner, url) in enumerate(story.sources):
        source: dict[str, Any] = {"kind": kind, "id": f"s{i + 1}", "owner": owner, "url": url}
        if kind == "http_json":
            source["path"] = "$.result"
        elif kind == "html":
            source["selector"] = "#result"
        elif kind == "geojson":
            source["at"] = {"lon": 37.18, "lat": 48.28, "place": "Pokrovsk"}
            source["property"] = "controlled_by"
        source["expect"] = expect
        sources.append(source)
    spec: dict[str, Any] = {
        "sources": sources,
        "observation_at_us": close_us + DAY_US,
        "quorum": min(2, len(sources)),
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 48,
    }
    if any(kind == "geojson" for kind, _, _ in story.sources):
        # two of the maps' daily updates: a live map's answer must survive the next one
        spec["persistence"] = {
            "hours": 48,
            "through_next_update": True,
            "update_interval_hours": 24,
        }
    else:
        spec["persistence"] = {"hours": 12}
    return spec


def _markets(s: Seeder) -> None:
    identity = s.services.identity
    for story in STORIES:
        close_us, close_text = _dates(story, s.end_us)
        if story.close_days < 0:  # closes during the history
            close_us = s.begin_us + (s.end_us - s.begin_us) * 2 // 3
            close_us -= close_us % HOUR_US
            close_text = datetime.fromtimestamp(close_us / 1e6, UTC).strftime("%-d %B %Y")
        question = story.question.format(close=close_text, month=_month_before(close_us))
        identity.save_market_meta(
            story.id,
            description=story.description,
            rules=story.rules,
            category=story.category,
            resolution_spec=_spec(story, close_us),
            created_by=DESK,
        )
        result = s.run(
            dc.CreateMarket(
                market=story.id,
                creator=DESK,
                question=question,
                outcomes=story.outcomes,
                close_at=close_us,
                liquidity=story.liquidity * ONE,
                tick=TICK,
                categorical=story.categorical,
            ),
            DESK,
        )
        if not result.ok:
            identity.delete_market_meta(story.id)
            raise RuntimeError(f"cannot create {story.id}: {result.code} {result.message}")
        s.stories[story.id] = story


# -- the simulation --------------------------------------------------------------------
def _logit(p: float) -> float:
    p = min(max(p, 0.005), 0.995)
    return math.log(p / (1 - p))


def _normalize(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values]


@dataclass
class _Crowd:
    """A market's latent belief (per outcome) and the truth it drifts to."""

    belief: list[float]
    truth: list[float]


def _step_crowd(crowd: _Crowd, rng: random.Random, shock: float) -> None:
    moved = []
    for b, t in zip(crowd.belief, crowd.truth, strict=True):
        x = _logit(b)
        x += 0.06 * (_logit(t) - x) + rng.gauss(0, shock)
        moved.append(1 / (1 + math.exp(-x)))
    crowd.belief = _normalize(moved)


@dataclass(frozen=True, slots=True)
class _View:
    prices: list[int]
    open: bool
    held: dict[str, list[int]]


def _views(ex: Exchange, ids: list[str], accounts: tuple[str, ...]) -> dict[str, _View]:
    out = {}
    for market_id in ids:
        market = ex.markets[market_id]
        prices = list(lmsr.marginal_prices(market.liquidity, market.q))
        held = {a: list(market.positions[a]) for a in accounts if a in market.positions}
        out[market_id] = _View(prices, market.status.value == "open", held)
    return out


def _price(micros: float) -> int:
    """A limit price on the tick, strictly inside (0, 1)."""
    ticks = round(micros / TICK)
    return min(max(ticks, 2), ONE // TICK - 2) * TICK


def _simulate(s: Seeder, steps: int) -> None:
    rng = s.rng
    crowds = {sid: _Crowd(list(story.start), list(story.truth)) for sid, story in s.stories.items()}
    ids = list(s.stories)
    span = s.end_us - s.begin_us
    for step in range(steps):
        at = s.begin_us + span * step // steps
        s.run_due(at)
        s.advance(at)
        fraction = step / steps
        hour = datetime.fromtimestamp(at / 1e6, UTC).hour
        daytime = 1.3 if 7 <= hour <= 21 else 0.5  # quieter at night (UTC)
        views: dict[str, _View] = s.query(lambda ex: _views(ex, ids, TRADERS))
        orders: list[tuple[dc.Command, str]] = []
        for sid in ids:
            story, crowd, view = s.stories[sid], crowds[sid], views[sid]
            for when, truth in story.news:
                if fraction - 1 / steps < when <= fraction:
                    crowd.truth = list(truth)
            _step_crowd(crowd, rng, 0.05 if fraction > 0.1 else 0.02)
            if not view.open:  # closed: resolution is for the resolvers (and a hook)
                continue
            count = _poisson(rng, story.activity * daytime)
            for _ in range(count):
                order = _taker(rng, sid, story, crowd, view)
                if order is not None:
                    orders.append((order, order.account))
                    _impact(story, view, order)  # the next trader of this step sees it
            if rng.random() < 0.6:
                orders.extend((o, BOOKMAKER) for o in _quotes(rng, sid, story, view, at))
        if orders:
            s.run_all(orders)
        if step % (STEPS_PER_DAY * 7) == 0:
            s.log(f"  day {step // STEPS_PER_DAY}: {s.commands} commands")
    # a last round of quotes, so that every open book has depth on both sides at the end
    views = s.query(lambda ex: _views(ex, ids, ()))
    final = [
        (order, BOOKMAKER)
        for sid in ids
        if views[sid].open
        for order in _quotes(rng, sid, s.stories[sid], views[sid], s.now_us, every_outcome=True)
    ]
    s.run_all(final)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _taker(
    rng: random.Random, sid: str, story: Story, crowd: _Crowd, view: _View
) -> dc.PlaceOrder | None:
    trader = rng.choice(TRADERS)
    seen = [min(max(b + rng.gauss(0, 0.025), 0.01), 0.99) for b in crowd.belief]
    prices = [p / ONE for p in view.prices]
    outcomes = range(len(prices)) if story.categorical else range(1)
    outcome = max(outcomes, key=lambda i: abs(seen[i] - prices[i]))
    gap = seen[outcome] - prices[outcome]
    if abs(gap) < 0.012:
        return None
    conviction = min(abs(gap), 0.25) * rng.uniform(0.6, 1.6)
    budget = int(max(2.0, min(400.0, conviction * story.liquidity * 0.5)) * ONE)
    budget -= budget % ONE  # whole credits
    held = view.held.get(trader)
    if gap > 0:
        return dc.PlaceOrder(
            trader, sid, outcome, dc.Side.BUY, dc.Token.YES, budget=budget, tif=dc.TimeInForce.IOC
        )
    yes_held = held[outcome] if held else 0
    if yes_held >= ONE and rng.random() < 0.7:  # take profit / cut: sell what it holds
        qty = min(yes_held, int(budget / max(prices[outcome], 0.02)))
        qty -= qty % ONE
        if qty >= ONE:
            return dc.PlaceOrder(
                trader, sid, outcome, dc.Side.SELL, dc.Token.YES, qty=qty, tif=dc.TimeInForce.IOC
            )
    if story.categorical:
        return dc.PlaceOrder(
            trader, sid, outcome, dc.Side.BUY, dc.Token.NO, budget=budget, tif=dc.TimeInForce.IOC
        )
    return dc.PlaceOrder(  # binary: YES on "No" is NO on "Yes"
        trader, sid, 1, dc.Side.BUY, dc.Token.YES, budget=budget, tif=dc.TimeInForce.IOC
    )


def _impact(story: Story, view: _View, order: dc.PlaceOrder) -> None:
    """Move the step's price view as the order will roughly move the maker (LMSR: a
    price p moves by about p(1-p)/b per share), so traders in one step do not all
    chase the same stale gap."""
    prices = view.prices
    binary_no = not story.categorical and order.outcome == 1
    outcome = 0 if binary_no else order.outcome
    p = prices[outcome] / ONE
    up = (order.side is dc.Side.BUY) == (order.token is dc.Token.YES) and not binary_no
    if order.qty is not None:
        shares = order.qty / ONE
    else:
        paid = p if up else 1 - p
        shares = (order.budget or 0) / ONE / max(paid, 0.01)
    moved = min(max(p + (1 if up else -1) * p * (1 - p) * shares / story.liquidity, 0.01), 0.99)
    rest = 1 - p
    for i, old in enumerate(prices):
        if i == outcome:
            prices[i] = int(moved * ONE)
        elif rest > 0:
            prices[i] = int(old * (1 - moved) / rest)


def _quotes(
    rng: random.Random,
    sid: str,
    story: Story,
    view: _View,
    now_us: int,
    every_outcome: bool = False,
) -> list[dc.PlaceOrder]:
    """A bid and an offer a little away from the maker's price, good for 12-36 hours."""
    if not story.categorical:
        outcomes = [0]
    elif every_outcome:
        outcomes = list(range(len(view.prices)))
    else:
        outcomes = [rng.randrange(len(view.prices))]
    out = []
    for outcome in outcomes:
        out.extend(_quote(rng, sid, outcome, view.prices[outcome], now_us))
    return out


def _quote(
    rng: random.Random, sid: str, outcome: int, price: int, now_us: int
) -> list[dc.PlaceOrder]:
    out = []
    for _ in range(rng.randint(1, 2)):
        spread = rng.randint(4, 30) * TICK
        qty = rng.randint(5, 60) * ONE
        expires = now_us + rng.randint(12, 36) * HOUR_US
        bid = _price(price - spread)
        ask_no = _price(ONE - (price + spread))  # buying NO at 1 - p offers YES at p
        for token, limit in ((dc.Token.YES, bid), (dc.Token.NO, ask_no)):
            out.append(
                dc.PlaceOrder(
                    BOOKMAKER,
                    sid,
                    outcome,
                    dc.Side.BUY,
                    token,
                    qty=qty,
                    price=limit,
                    tif=dc.TimeInForce.GTD,
                    expires_at=expires,
                    post_only=True,
                )
            )
    return out


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
    from augury.evidence.store import EvidenceStore

    store = EvidenceStore(s.services.settings.data_dir / "evidence")
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
