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

from augury.demo_seed import edited_map  # registers the edited-map story
from augury.demo_seed.edited_map import EDITED, PLANTED
from augury.demo_seed.seeder import EXTRA_STORIES, Seeder, SeedReport
from augury.demo_seed.seeding import journal_is_empty, seed
from augury.demo_seed.stories import STORIES, Story

__all__ = [
    "EDITED",
    "EXTRA_STORIES",
    "PLANTED",
    "STORIES",
    "SeedReport",
    "Seeder",
    "Story",
    "edited_map",
    "journal_is_empty",
    "seed",
]
