"""The public ledger: ``GET /ledger``, the exchange's credit totals and their equation.

Anyone may read it (no login). The totals are computed on the engine thread from the
live state (``domain.ledger_report``), with the journal seq of the last record that
state includes, so a reader can replay the journal up to that seq and check them.
Amounts are integers in micro-credits (not the decimal strings used elsewhere): they
are the ledger's own figures, summed.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter
from pydantic import ConfigDict

from augury.api.deps import ServicesDep
from augury.api.responses import Out
from augury.domain.exchange import Exchange
from augury.domain.ledger_report import LedgerTotals, report
from augury.engine import Engine
from augury.roles.node_engine import NodeEngine

router = APIRouter(tags=["ledger"])


class LedgerOut(Out):
    """The exchange's ledger at journal ``seq``; every amount in micro-credits."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "credits_minted = balances + order_escrow + share_collateral "
            "+ dispute_bonds + maker_cash + fees + rounding; conserved says it holds."
        },
    )
    seq: int
    conserved: bool
    unit: str
    credits_minted: int
    balances: int
    order_escrow: int
    share_collateral: int
    dispute_bonds: int
    maker_cash: int
    maker_subsidy: int
    maker_result: int
    fees: int
    rounding: int


def ledger_view(seq: int, totals: LedgerTotals) -> dict[str, Any]:
    """The answer of ``GET /ledger`` (also what the web UI's panel shows)."""
    return {"seq": seq, "unit": "micros", **msgspec.structs.asdict(totals)}


def live_ledger(engine: Engine | NodeEngine) -> Any:
    """A query for ``engine.query``: (seq, totals) of the state at the durable head."""

    def query(exchange: Exchange) -> tuple[int, LedgerTotals]:
        # a query runs once every earlier command is durable: the state is the head's
        return engine.head[0], report(exchange)

    return query


@router.get(
    "/ledger",
    summary="The exchange's credit totals and whether they are conserved (public)",
    response_model=LedgerOut,
)
async def get_ledger(services: ServicesDep) -> dict[str, Any]:
    """Where every credit ever granted is now, computed on the live state at ``seq``."""
    seq, totals = await services.query(live_ledger(services.engine))
    return ledger_view(seq, totals)
