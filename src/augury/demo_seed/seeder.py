"""What the simulation and the scripted stories work with: the ``Seeder`` (engine,
clock, RNG, counters, scheduled steps) and the report of a run."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from augury.demo_seed.stories import Story
from augury.domain import commands as dc
from augury.domain.exchange import Exchange, Result
from augury.engine import AdvanceClock
from augury.roles.services import Services


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
