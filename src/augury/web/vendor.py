"""Third-party browser libraries, installed from npm at build time and served from
``node_modules`` (never copied into the repository).

``package.json``/``package-lock.json`` at the repository root pin them; ``make run``
and ``make pytest`` run ``npm ci`` first. ``AUGURY_NODE_MODULES`` points elsewhere
(e.g. an image that installs them in another place). A missing library is logged
loudly at startup and answered with 503 and the command that installs it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

log = logging.getLogger(__name__)

VENDOR_FILES: dict[str, str] = {
    "lightweight-charts.js": "lightweight-charts/dist/lightweight-charts.standalone.production.js",
}
"""URL name under /static/vendor/ -> path under node_modules."""

INSTALL_HINT = "run `npm ci` in the repository root (make run does it)"

router = APIRouter(include_in_schema=False)


def node_modules() -> Path:
    """Where the npm packages are: $AUGURY_NODE_MODULES, else the repository's."""
    given = os.environ.get("AUGURY_NODE_MODULES")
    if given:
        return Path(given)
    repo = Path(__file__).resolve().parents[3]  # src/augury/web/vendor.py -> the repo root
    if (repo / "node_modules").is_dir():
        return repo / "node_modules"
    return Path.cwd() / "node_modules"


def vendor_path(name: str) -> Path | None:
    relative = VENDOR_FILES.get(name)
    return None if relative is None else node_modules() / relative


def missing() -> list[str]:
    """The vendor files that are not installed (empty when all are)."""
    out = []
    for name in VENDOR_FILES:
        path = vendor_path(name)
        if path is None or not path.is_file():
            out.append(name)
    return out


def check_installed() -> None:
    for name in missing():
        log.error("augury web: %s is missing from %s: %s", name, node_modules(), INSTALL_HINT)


@router.get("/static/vendor/{name}")
async def vendor_file(name: str) -> Response:
    path = vendor_path(name)
    if path is None:
        return PlainTextResponse("not found", status_code=404)
    if not path.is_file():
        return PlainTextResponse(
            f"{name} is not installed ({path} is missing): {INSTALL_HINT}", status_code=503
        )
    return FileResponse(
        path,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )
