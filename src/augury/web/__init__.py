"""The web UI: server-rendered pages at ``/`` with small JavaScript of our own that
talks to the JSON API (``/api/v1``) and its WebSocket. See docs/web.md.

``mount(app)`` adds the pages, the spec linter endpoint, our static files
(``/static/app``) and the npm libraries (``/static/vendor``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from augury.web import lint, pages, vendor

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    vendor.check_installed()
    app.include_router(vendor.router)
    app.include_router(lint.router)
    app.include_router(pages.router)
    app.mount("/static/app", StaticFiles(directory=STATIC), name="web-static")


__all__ = ["mount"]
