"""The operator's tools and the server's state: grants, users and roles, the simulated
clock, health and the journal's head."""

from __future__ import annotations

from collections.abc import Iterable

from augury.client import _base as b
from augury.client import _models as m
from augury.client._async.base import Core


class AdminMethods(Core):
    """The client's methods for grants, users and roles, the clock, health and the journal."""

    async def grant(
        self,
        account: str,
        amount: b.Amount,
        memo: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> m.Grant:
        body = b.body(account=account, amount=b.amount(amount), memo=memo)
        req = self._req("grant", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Grant)

    async def list_users(
        self,
        *,
        q: str | None = None,
        role: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.User]:
        """Users and their roles, by username (admin); ``q`` matches part of a username."""
        params = {"q": q, "role": role, "cursor": cursor, "limit": limit}
        return await self._call(self._req("list_users", params=params), m.Page[m.User])

    async def set_roles(self, username: str, roles: Iterable[str]) -> m.User:
        req = self._req("set_roles", path={"username": username}, body={"roles": list(roles)})
        return await self._call(req, m.User)

    async def advance_clock(
        self, *, seconds: int | None = None, to: b.Instant | None = None
    ) -> m.ClockAdvanced:
        """Move simulated time (admin; give exactly one of ``seconds`` or ``to``)."""
        body = b.body(seconds=seconds, to=b.instant(to))
        return await self._call(self._req("advance_clock", body=body), m.ClockAdvanced)

    async def health(self) -> m.Health:
        return await self._call(self._req("health"), m.Health)

    async def ledger(self) -> m.Ledger:
        """The public ledger: where every credit is, and whether they all add up."""
        return await self._call(self._req("ledger"), m.Ledger)

    async def journal(self) -> m.JournalHead:
        """The journal's head and the key to verify an export's checkpoints with."""
        return await self._call(self._req("journal"), m.JournalHead)
