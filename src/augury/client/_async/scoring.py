"""Scoring: a resolved market's probability and scores, calibration, the leaderboard."""

from __future__ import annotations

from augury.client import _scoring_models as sm
from augury.client._async.base import Core, RankBy, Window


class ScoringMethods(Core):
    """The client's methods for scores, calibration and the leaderboard."""

    async def market_score(self, market: str) -> sm.MarketScore:
        """A resolved market's probability over time and its scores (``Conflict``
        ``market_not_resolved`` otherwise)."""
        return await self._call(self._req("market_score", path={"market": market}), sm.MarketScore)

    async def calibration(
        self, *, buckets: int | None = None, samples: int | None = None
    ) -> sm.Calibration:
        """Calibration across resolved markets (``samples`` instants per market)."""
        params = {"buckets": buckets, "samples": samples}
        return await self._call(self._req("calibration", params=params), sm.Calibration)

    async def leaderboard(
        self, *, by: RankBy = "profit", window: Window = "all", limit: int | None = None
    ) -> sm.Leaderboard:
        """Traders ranked by profit or score over markets settled in the window."""
        params = {"by": by, "window": window, "limit": limit}
        return await self._call(self._req("leaderboard", params=params), sm.Leaderboard)

    async def trader_score(
        self, account: str, *, window: Window = "all", buckets: int | None = None
    ) -> sm.TraderScore:
        """A trader's profit, return, score and calibration."""
        params = {"window": window, "buckets": buckets}
        req = self._req("trader_score", path={"account": account}, params=params)
        return await self._call(req, sm.TraderScore)
