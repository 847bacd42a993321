"""The demo's markets: each story's question, sources, close and how its crowd's
belief moves (the scripted true probability and the news)."""

from __future__ import annotations

from dataclasses import dataclass

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
    scalar: tuple[int, int, int, str] | None = None
    """A scalar market's (low, high, step, units), in whole units; its outcomes are LONG
    and SHORT and its probabilities are LONG's price: where the expected value lies in
    the range (0.6 of 0..3000 ships is 1,800 ships)."""

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
    Story(
        "demo-hormuz-transits",
        "How many commercial ships will transit the Strait of Hormuz in {month}?",
        "economics",
        ("LONG", "SHORT"),
        (0.5, 0.5),
        (0.57, 0.43),
        45,
        900,
        1.8,
        "A scalar market: the number of commercial transits counted over the month.",
        "Resolved to the monthly count of the port authority's feed, a ship tracker's CSV "
        "series and a wire report, taking the median of the three within 15 ships.",
        news=((0.5, (0.49, 0.51)),),
        sources=(
            _src("http_json", "Port Authority", "https://port.example.org/api/transits"),
            _src("csv", "Ship Tracker", "https://tracker.example.com/hormuz.csv"),
            _src("html", "Wire Agency", "https://wire.example.com/hormuz"),
        ),
        scalar=(0, 3_000, 1, "ships"),
    ),
    Story(
        "demo-frontline-length",
        "How long will the front line in Ukraine be on {close}, in kilometres?",
        "conflict",
        ("LONG", "SHORT"),
        (0.5, 0.5),
        (0.62, 0.38),
        80,
        700,
        1.4,
        "A scalar market on the war maps: the length of the active front line.",
        "Resolved to the front line's length the maps publish at the observation time, the "
        "median of the three within 4 km, holding for 12 hours.",
        sources=(
            _src("http_json", "Institute for Maps", "https://maps.example.org/front/length"),
            _src("html", "Open Conflict Monitor", "https://ocm.example.net/front"),
            _src("http_json", "Defence Analysts", "https://da.example.com/front.json"),
        ),
        scalar=(800, 1_600, 1, "km"),
    ),
)
