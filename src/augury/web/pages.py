"""The server-rendered pages (Jinja2). Reads happen here; every change goes through the
JSON API (``/api/v1``) from the pages' own JavaScript, with the session cookie and the
CSRF header, so the web UI has no write path of its own."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from augury.api import reads
from augury.api import resolution_reads as rr
from augury.api.deps import Principal, ServicesDep, optional_principal
from augury.api.routes.ledger import ledger_view, live_ledger
from augury.domain.units import format_micros
from augury.roles.services import Services
from augury.web import data
from augury.web.redirects import safe_next

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = data.when
templates.env.filters["us_when"] = data.when_us

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal | None, Depends(optional_principal)]
Sort = Literal["volume", "closing", "newest"]
STATUSES = ("open", "halted", "closed", "resolved", "voided")
LIST_MAX = 200
RESOLVED_SHOWN = 50
CHART_STYLE_SHA256 = "3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY="
"""The one ``<style>`` element the chart library (lightweight-charts 5) adds: its
attribution logo's. A test checks it against the installed library."""
CSP = (
    "default-src 'self'; script-src 'self'; "
    f"style-src 'self' 'sha256-{CHART_STYLE_SHA256}'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
"""Only our own scripts and style sheets apply on the pages: no inline script, no inline
style (the templates have none; the scripts set styles through the CSSOM, which the
policy allows), nothing from elsewhere, no framing."""


def _user(viewer: Principal | None) -> dict[str, Any] | None:
    if viewer is None:
        return None
    return {"username": viewer.account, "roles": list(viewer.user.roles)}


def render(
    request: Request,
    name: str,
    viewer: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    services: Services = request.app.state.services
    context.update(
        user=_user(viewer),
        mode=services.settings.mode,
        clock=services.settings.clock,
    )
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP
    return response


async def _all_markets(services: Services, **filters: Any) -> list[dict[str, Any]]:
    await services.barrier()
    items, _ = await run_in_threadpool(
        partial(
            reads.list_markets,
            services.projector.engine,
            cursor=None,
            limit=LIST_MAX,
            **filters,
        )
    )
    result: list[dict[str, Any]] = items
    return result


@router.get("/", response_class=HTMLResponse)
async def markets_page(
    request: Request,
    services: ServicesDep,
    viewer: Viewer,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    sort: Sort = "volume",
) -> HTMLResponse:
    chosen_status = status if status in STATUSES else None
    markets = await _all_markets(
        services,
        q=q or None,
        category=category or None,
        status=chosen_status,
        sort="close_time" if sort == "closing" else "newest",
    )
    everything = await _all_markets(services, q=None, category=None, status=None, sort="newest")
    categories = sorted({m["category"] for m in everything if m["category"]})
    ids = [m["id"] for m in markets]
    prices = await services.query(lambda ex: data.maker_prices(ex, ids))
    engine = services.projector.engine
    volume = await run_in_threadpool(data.volumes, engine)
    history = await run_in_threadpool(data.closes, engine, ids)
    rows = data.rows(markets, prices, volume, history)
    if sort == "volume":
        rows.sort(key=lambda row: (-row.volume_micros, row.id))
    elif sort == "closing":  # the open markets that close soonest first
        rows.sort(key=lambda row: (row.status != "open", row.close_time))
    return render(
        request,
        "markets.html",
        viewer,
        rows=rows,
        categories=categories,
        statuses=STATUSES,
        q=q,
        category=category,
        status=chosen_status or "",
        sort=sort,
        total=len(everything),
    )


@router.get("/markets/{market_id}", response_class=HTMLResponse)
async def market_page(
    request: Request, market_id: str, services: ServicesDep, viewer: Viewer
) -> HTMLResponse:
    if len(market_id) > 64:
        return render(request, "missing.html", viewer, 404, what=market_id[:64])
    await services.barrier()
    market = await run_in_threadpool(reads.get_market, services.projector.engine, market_id)
    if market is None:
        return render(request, "missing.html", viewer, 404, what=market_id)
    spec = market["resolution_spec"] or {}
    by_version = await run_in_threadpool(
        data.fills_by_rules_version, services.projector.engine, market_id
    )
    roles = list(viewer.user.roles) if viewer is not None else []
    can_clarify = viewer is not None and (
        viewer.has_role("admin") or viewer.account == market["creator"]
    )
    found = spec.get("bonds")
    bonds: dict[str, Any] = found if isinstance(found, dict) else {}
    spec_warnings = await services.query(lambda ex: rr.market_spec_warnings(ex, market_id))
    return render(
        request,
        "market.html",
        viewer,
        market=market,
        market_data={  # |tojson escapes <, >, & and ' for the <script> block
            "id": market["id"],
            "outcomes": market["outcomes"],
            "categorical": market["categorical"],
            "scalar": market["scalar"],  # a scalar market: range, step, units (strings)
            "status": market["status"],
            "tick_size": market["tick_size"],
            "lot_size": market["lot_size"],
            "roles": roles,
            "can_clarify": can_clarify,
            "dispute_bond": data.credits(int(bonds.get("dispute", 100_000_000))),
        },
        spec_words=data.spec_in_words(spec, market["outcomes"]),
        scalar_lines=data.scalar_lines(market["scalar"]),
        spec_json=json.dumps(spec, indent=2, sort_keys=True) if spec else "",
        spec_warnings=[w["message"] for w in spec_warnings],
        by_version=by_version,
        can_clarify=can_clarify,
        console=viewer is not None and viewer.has_role("resolver", "arbiter", "admin"),
    )


def _need_login(request: Request) -> RedirectResponse:
    path = quote(safe_next(request.url.path), safe="/")
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get("/portfolio", response_model=None)
async def portfolio_page(request: Request, viewer: Viewer) -> Response:
    if viewer is None:
        return _need_login(request)
    return render(request, "portfolio.html", viewer)


@router.get("/scores", response_class=HTMLResponse)
async def scores_page(request: Request, services: ServicesDep, viewer: Viewer) -> HTMLResponse:
    """Calibration across resolved markets, the leaderboard and each resolved market's
    scores: the page's script reads the public scoring API; the server lists the
    resolved markets (newest first, at most ``RESOLVED_SHOWN``)."""
    resolved = await _all_markets(services, q=None, category=None, status="resolved", sort="newest")
    return render(request, "scores.html", viewer, resolved=resolved[:RESOLVED_SHOWN])


@router.get("/scores/traders/{account}", response_class=HTMLResponse)
async def trader_page(request: Request, account: str, viewer: Viewer) -> HTMLResponse:
    """One trader's results (public, like the leaderboard); the script reads
    ``GET /api/v1/scoring/traders/{account}`` and says so if the account is unknown."""
    return render(request, "trader.html", viewer, account=account)


@router.get("/create", response_model=None)
async def create_page(request: Request, viewer: Viewer) -> Response:
    if viewer is None:
        return _need_login(request)
    allowed = viewer.has_role("market_creator", "admin")
    return render(request, "create.html", viewer, allowed=allowed)


USERS_SHOWN = 100
"""Users listed on the admin page (search by name for the others)."""
LEDGER_ROWS = (
    ("credits_minted", "Credits minted"),
    ("balances", "Account balances"),
    ("order_escrow", "Order escrow"),
    ("share_collateral", "Share collateral"),
    ("dispute_bonds", "Dispute bonds"),
    ("maker_cash", "Market makers' cash"),
    ("fees", "Fees"),
    ("rounding", "Rounding"),
    ("maker_subsidy", "Market makers' subsidy (open markets)"),
    ("maker_result", "Market makers' result so far"),
)
"""The public ledger's totals (``GET /api/v1/ledger``) as the admin page shows them."""


@router.get("/admin", response_model=None)
async def admin_page(request: Request, services: ServicesDep, viewer: Viewer) -> Response:
    if viewer is None:
        return _need_login(request)
    if not viewer.has_role("admin"):
        return render(request, "forbidden.html", viewer, 403, need="admin")
    markets = await _all_markets(services, q=None, category=None, status=None, sort="newest")
    markets.sort(key=lambda m: m["status"] not in ("open", "halted"))  # tradeable first
    who = (request.query_params.get("users") or "").strip().lower()[:32]
    users = await run_in_threadpool(
        partial(services.identity.list_users, q=who or None, limit=USERS_SHOWN + 1)
    )
    seq, totals = await services.query(live_ledger(services.engine))
    return render(
        request,
        "admin.html",
        viewer,
        markets=markets,
        users=users[:USERS_SHOWN],
        more_users=len(users) > USERS_SHOWN,
        users_query=who,
        ledger=ledger_view(seq, totals),
        ledger_rows=LEDGER_ROWS,
        format_micros=format_micros,
    )


@router.get("/console", response_model=None)
async def console_page(request: Request, services: ServicesDep, viewer: Viewer) -> Response:
    """Resolvers: closed markets collecting evidence (propose, observe now); arbiters:
    disputed and held markets (vote) and the surveillance alerts (review)."""
    if viewer is None:
        return _need_login(request)
    if not viewer.has_role("resolver", "arbiter", "admin"):
        return render(request, "forbidden.html", viewer, 403, need="resolver, arbiter or admin")
    now = services.now_us()
    queue = await services.query(lambda ex: data.waiting(ex, now))
    return render(
        request,
        "console.html",
        viewer,
        to_propose=[w for w in queue if w.phase == "collecting"],
        to_vote=[w for w in queue if w.phase in ("disputed", "held")],
        in_window=[w for w in queue if w.phase == "proposed"],
        markets=await _all_markets(services, q=None, category=None, status=None, sort="newest"),
        resolver=viewer.has_role("resolver", "admin"),
        arbiter=viewer.has_role("arbiter", "admin"),
        voter=viewer.has_role("arbiter"),
        credits=data.credits,
    )


@router.get("/keys", response_model=None)
async def keys_page(request: Request, viewer: Viewer) -> Response:
    if viewer is None:
        return _need_login(request)
    return render(request, "keys.html", viewer)


@router.get("/notifications", response_model=None)
async def notifications_page(request: Request, viewer: Viewer) -> Response:
    """The feed, marking read, the kinds shown, webhooks (all through the JSON API)."""
    if viewer is None:
        return _need_login(request)
    return render(request, "notifications.html", viewer)


@router.get("/login", response_model=None)
async def login_page(
    request: Request, viewer: Viewer, next: Annotated[str, Query(max_length=200)] = "/"
) -> Response:
    """The login form; a visitor already logged in goes on to ``next`` (after a login
    the page's script comes back here, so the server alone decides where it leads)."""
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth.html", viewer, action="login", next=safe_next(next))


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(
    request: Request, viewer: Viewer, next: Annotated[str, Query(max_length=200)] = "/"
) -> HTMLResponse:
    return render(request, "auth.html", viewer, action="signup", next=safe_next(next))
