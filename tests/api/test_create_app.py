"""``create_app`` never decides what runs: its composer gives services, ``start`` or a
node factory; given none, the app can still describe itself but refuses to start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from augury.api import create_app
from augury.settings import Settings


def test_an_app_without_what_to_run_describes_itself_but_does_not_start(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    assert "/api/v1/orders" in app.openapi()["paths"]

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(RuntimeError, match="needs services, start or node"):
        asyncio.run(start())
    assert not (tmp_path / "journal.db").exists()  # nothing was opened
