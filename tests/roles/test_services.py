"""The services say what went wrong without HTTP (augury.roles.errors): a refused command
by its reason code, a stopped engine as unavailable (with when to retry on a write)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from augury.domain import commands as dc
from augury.roles.errors import Refused, Unavailable
from augury.roles.services import Services
from augury.settings import Settings


def test_refusals_and_a_stopped_engine_are_service_errors(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        projector="thread",
        surveillance=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    services = Services.start(settings, lambda _user, _password: None)
    try:

        async def refused() -> None:
            with pytest.raises(Refused) as caught:
                await services.submit(dc.GrantCredits("nobody", 5))
            assert caught.value.code == "unknown_account"
            assert caught.value.retry_after_s is None
            # submit_raw answers the refusal instead
            result = await services.submit_raw(dc.GrantCredits("nobody", 5))
            assert (result.ok, result.code) == (False, "unknown_account")

        asyncio.run(refused())
        services.engine.close()

        async def stopped() -> None:
            with pytest.raises(Unavailable) as write:
                await services.submit(dc.OpenAccount("ann"))
            assert (write.value.code, write.value.retry_after_s) == ("unavailable", 1)
            assert write.value.detail == "the exchange is not running"
            with pytest.raises(Unavailable) as read:
                await services.query(lambda ex: len(ex.accounts))
            assert (read.value.code, read.value.retry_after_s) == ("unavailable", None)

        asyncio.run(stopped())
    finally:
        services.stop()
