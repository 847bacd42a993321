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
import sys
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
    """Where the npm packages are: $AUGURY_NODE_MODULES (a relative path is taken from
    the working directory at startup), else the nearest ``node_modules`` that holds the
    vendor files, searched upwards from this package (an editable install or a checkout:
    the repository root), then from the Python environment (a virtualenv inside the
    repository), and only last the working directory. So ``augury serve`` started from
    any directory finds the repository's libraries."""
    given = os.environ.get("AUGURY_NODE_MODULES")
    if given:
        return Path(given).resolve()
    found = find_node_modules(Path(__file__).resolve().parent, Path(sys.prefix).resolve())
    return found if found is not None else Path.cwd() / "node_modules"


def find_node_modules(*starts: Path) -> Path | None:
    """The first ``node_modules`` with every vendor file, in ``starts`` or their parents."""
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "node_modules"
            if all((candidate / relative).is_file() for relative in VENDOR_FILES.values()):
                return candidate
    return None


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
