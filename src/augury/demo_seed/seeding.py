"""``seed``: the demo seeded into a journal through a simulated-clock engine, and
the setting up (accounts, markets, specs)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from augury.demo_seed.seeder import EXTRA_STORIES, Seeder, SeedReport
from augury.demo_seed.stories import (
    BOOKMAKER,
    DAY_US,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DESK,
    HOUR_US,
    STEPS_PER_DAY,
    STORIES,
    TICK,
    TRADERS,
    Story,
)
from augury.demo_seed.traders import simulate
from augury.domain import commands as dc
from augury.domain.scalar import ScalarRange
from augury.domain.units import ONE
from augury.roles.services import AdminCallback, Services, print_admin
from augury.settings import Settings, format_instant


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
        simulate(seeder, days * STEPS_PER_DAY)
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
        elif kind == "csv":
            source["column"] = "value"
        elif kind == "geojson":
            source["at"] = {"lon": 37.18, "lat": 48.28, "place": "Pokrovsk"}
            source["property"] = "controlled_by"
        if story.scalar is None:  # a scalar market's sources read numbers
            source["expect"] = expect
        sources.append(source)
    spec: dict[str, Any] = {
        "sources": sources,
        "observation_at_us": close_us + DAY_US,
        "quorum": min(2, len(sources)),
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 48,
    }
    if story.scalar is not None:
        low, high, _, units = story.scalar
        spec["numeric"] = {"units": units, "tolerance": (high - low) * ONE // 200}
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


def _scalar(story: Story) -> ScalarRange | None:
    if story.scalar is None:
        return None
    low, high, step, units = story.scalar
    return ScalarRange(low * ONE, high * ONE, step * ONE, units)


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
                outcomes=() if story.scalar else story.outcomes,
                close_at=close_us,
                liquidity=story.liquidity * ONE,
                tick=TICK,
                categorical=story.categorical,
                scalar=_scalar(story),
            ),
            DESK,
        )
        if not result.ok:
            identity.delete_market_meta(story.id)
            raise RuntimeError(f"cannot create {story.id}: {result.code} {result.message}")
        s.stories[story.id] = story
