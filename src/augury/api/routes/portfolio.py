"""Portfolio: my balances, positions, fills, profit and settlements. Only ever the
caller's own account."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from augury.api import live, reads
from augury.api import responses as r
from augury.api.deps import Reader, ServicesDep
from augury.api.routes.common import Cursor, Limit, page
from augury.domain.exchange import Exchange
from augury.domain.units import ONE, format_micros

router = APIRouter(tags=["portfolio"])


@router.get(
    "/portfolio/balances",
    summary="My credits: available and in escrow",
    response_model=r.BalancesOut,
)
async def balances(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    account = principal.account
    result: dict[str, Any] = await services.query(lambda ex: live.balances(ex, account))
    return result


@router.get(
    "/portfolio/positions", summary="My shares, with average cost", response_model=r.PositionList
)
async def positions(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    """``qty`` is available, ``escrowed`` is reserved by open sell orders; ``cost_basis``
    and ``average_cost`` (per share, fees included) come from the read models.
    ``mark_price`` is the maker's price, else the mid of the book (null if neither);
    ``market_value`` and ``unrealized_pnl`` (value minus cost basis) follow from it."""
    account = principal.account

    def run(ex: Exchange) -> list[live.Holding]:
        return live.holdings(ex, account)

    holdings = await services.query(run)
    await services.barrier()  # the cost basis comes from the read models
    basis = await run_in_threadpool(reads.cost_basis, services.projector.engine, account)
    items = []
    for h in holdings:
        cost = basis.get((h.market, h.token))
        shares = h.qty + h.escrowed
        value = None if h.mark is None else shares * h.mark // ONE
        items.append(
            {
                "market": h.market,
                "outcome": h.outcome,
                "outcome_name": h.outcome_name,
                "token": h.side,
                "qty": format_micros(h.qty),
                "escrowed": format_micros(h.escrowed),
                "cost_basis": None if cost is None else format_micros(cost),
                "average_cost": (
                    None if cost is None or shares == 0 else format_micros(cost * ONE // shares)
                ),
                "mark_price": None if h.mark is None else format_micros(h.mark),
                "market_value": None if value is None else format_micros(value),
                "unrealized_pnl": (
                    None if value is None or cost is None else format_micros(value - cost)
                ),
            }
        )
    return {"items": items}


@router.get("/portfolio/fills", summary="My fills, newest first", response_model=r.FillPage)
async def fills(
    principal: Reader,
    services: ServicesDep,
    market: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    await services.barrier()
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.list_fills,
            services.projector.engine,
            principal.account,
            market=market,
            cursor=cursor,
            limit=limit,
        )
    )
    return page(items, next_cursor)


@router.get(
    "/portfolio/pnl",
    summary="My profit per market: paid, received, fees, settlement, realized",
    response_model=r.ProfitList,
)
async def pnl(principal: Reader, services: ServicesDep) -> dict[str, Any]:
    """``realized_pnl`` is what the market paid the account minus what the account paid
    in, not counting the cost of shares still held (``held_at_cost``): on a settled
    market, the whole profit. Unrealized profit is on ``/portfolio/positions``."""
    await services.barrier()
    items = await run_in_threadpool(
        reads.profit_by_market, services.projector.engine, principal.account
    )
    return {"items": items}


@router.get(
    "/portfolio/settlements",
    summary="My payouts and void refunds, newest first",
    response_model=r.SettlementList,
)
async def settlements(
    principal: Reader, services: ServicesDep, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    """In pages: ``next_cursor`` names the next (null after the last)."""
    await services.barrier()
    items, next_cursor = await run_in_threadpool(
        reads.settlement_page, services.projector.engine, principal.account, cursor, limit
    )
    return page(items, next_cursor)
