"""The trading commands over the API (through the SDK): markets, order, portfolio, clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from decimal import Decimal

    from augury.client import Level, Market, Order, Placement

from augury.cli._common import (
    URL_DEFAULT,
    ApiKey,
    CliError,
    JsonOut,
    Url,
    _guard,
    _print_json,
    _sdk,
    _when,
    app,
)

markets_app = typer.Typer(help="List, show and create markets.", no_args_is_help=True)
order_app = typer.Typer(help="Place, preview, list, amend and cancel orders.", no_args_is_help=True)
clock_app = typer.Typer(help="Simulated time (admin, development mode).", no_args_is_help=True)
app.add_typer(markets_app, name="markets")
app.add_typer(order_app, name="order")
app.add_typer(clock_app, name="clock")


@markets_app.command("list")
def markets_list(
    q: Annotated[str | None, typer.Option("--q", help="Words in the question.")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    status: Annotated[
        str | None, typer.Option("--status", metavar="open|halted|closed|resolved|voided")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", metavar="newest|oldest|close_time")] = "newest",
    limit: Annotated[int, typer.Option("--limit", help="At most this many markets.")] = 50,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """List markets (every page, up to --limit)."""
    with _guard("markets list", json_out), _sdk(url, api_key) as client:
        if sort not in ("newest", "oldest", "close_time"):
            raise CliError("--sort must be newest, oldest or close_time")
        found: list[Market] = []
        for market in client.iter_markets(
            q=q,
            category=category,
            status=status,
            sort=sort,  # type: ignore[arg-type]
            page_size=min(limit, 200),
        ):
            if len(found) >= limit:
                break
            found.append(market)
        if json_out:
            _print_json({"items": [m.to_dict() for m in found]})
            return
        for market in found:
            scale = _range(market, "  [", "]")
            print(f"{market.id}  {market.status:<8} {market.type:<11} closes "
                  f"{_when(market.close_time)}  {market.question}{scale}")  # fmt: skip
        if not found:
            print("no markets")


@markets_app.command("show")
def markets_show(
    market: Annotated[str, typer.Argument(metavar="MARKET")],
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """One market, with its order book and the maker's prices."""
    with _guard("markets show", json_out), _sdk(url, api_key) as client:
        found = client.get_market(market)
        book = client.book(market)
        quote = client.quote(market)
        if json_out:
            _print_json(
                {"market": found.to_dict(), "book": book.to_dict(), "quote": quote.to_dict()}
            )
            return
        print(f"{found.id}: {found.question}")
        print(f"  {found.type} market{_range(found, ', range ')}")
        print(f"  status {found.status}, closes {_when(found.close_time)}, "
              f"tick {found.tick_size}, fee {found.fee_bps} bps, outcomes "
              f"{', '.join(found.outcomes)}")  # fmt: skip
        if quote.prices is not None:
            implied = _implied(found, quote.implied_value)
            print("  maker prices " + ", ".join(
                str(p) + (implied if i == 0 else "") for i, p in enumerate(quote.prices)
            ))  # fmt: skip
        print("  bids " + (", ".join(_level(found, lv) for lv in book.bids) or "-"))
        print("  asks " + (", ".join(_level(found, lv) for lv in book.asks) or "-"))


def _range(market: Market, before: str = "", after: str = "") -> str:
    """A scalar market's range with its units and step ("" for the others)."""
    r = market.scalar
    if r is None:
        return ""
    return f"{before}{r.low} .. {r.high} {r.units}, step {r.step}{after}"


def _implied(market: Market, value: Decimal | None) -> str:
    """What a scalar market's LONG price implies, for beside it ("" for the others)."""
    if market.scalar is None or value is None:
        return ""
    return f" (implies {value} {market.scalar.units})"


def _level(market: Market, lv: Level) -> str:
    return f"{lv.qty}@{lv.price}{_implied(market, lv.implied_value)}"


@markets_app.command("create")
def markets_create(
    question: Annotated[str, typer.Argument(metavar="QUESTION")],
    close_time: Annotated[
        str, typer.Option("--close-time", metavar="RFC3339", help="e.g. 2026-06-30T00:00:00Z")
    ],
    market_id: Annotated[str | None, typer.Option("--id", help="Default: made up.")] = None,
    outcome: Annotated[
        list[str] | None,
        typer.Option("--outcome", help="Repeat for a categorical market (3..64)."),
    ] = None,
    scalar: Annotated[
        str | None,
        typer.Option(
            "--scalar",
            metavar="LOW:HIGH:STEP:UNITS",
            help="A scalar market (LONG and SHORT) of this range, e.g. 0:2000:1:ships.",
        ),
    ] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    rules: Annotated[str | None, typer.Option("--rules")] = None,
    tick_size: Annotated[str | None, typer.Option("--tick-size", metavar="DECIMAL")] = None,
    liquidity: Annotated[
        str | None, typer.Option("--liquidity", metavar="SHARES", help="LMSR b (0: no maker).")
    ] = None,
    fee_bps: Annotated[int | None, typer.Option("--fee-bps")] = None,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """Create a market (market_creator or admin): binary, categorical with --outcome, or
    scalar with --scalar."""
    with _guard("markets create", json_out), _sdk(url, api_key) as client:
        from augury.client import ScalarRange

        outcomes = list(outcome or [])
        rng: ScalarRange | None = None
        if scalar is not None:
            parts = scalar.split(":", 3)
            if len(parts) != 4 or outcomes:
                raise CliError("--scalar is LOW:HIGH:STEP:UNITS, without --outcome")
            rng = ScalarRange(parts[0], parts[1], parts[2], parts[3])
        created = client.create_market(
            question,
            close_time,
            id=market_id,
            type="scalar" if rng else "categorical" if len(outcomes) > 2 else "binary",
            scalar=rng,
            outcomes=outcomes or None,
            category=category,
            description=description,
            rules=rules,
            tick_size=tick_size,
            liquidity=liquidity,
            fee_bps=fee_bps,
            idempotency_key=idempotency_key,
        )
        if json_out:
            _print_json(created.to_dict())
        else:
            print(f"created {created.id}: {created.question} (subsidy {created.subsidy})"
                  f"{_range(created, ', range ')}")  # fmt: skip


def _order_args(
    side: str, qty: str | None, price: str | None, budget: str | None, token: str
) -> None:
    if side not in ("buy", "sell"):
        raise CliError(f"SIDE must be buy or sell, not {side!r}")
    if token not in ("yes", "no"):
        raise CliError(f"--token must be yes or no, not {token!r}")
    if (qty is None) == (budget is None):
        raise CliError("give QTY or --budget (a market buy's most to spend), not both")


Side = Annotated[str, typer.Argument(metavar="buy|sell")]
Qty = Annotated[str | None, typer.Argument(metavar="[QTY]", help="Shares.", show_default=False)]
Price = Annotated[
    str | None,
    typer.Option("--price", help="Limit price (without it: a market order).", show_default=False),
]
Budget = Annotated[
    str | None, typer.Option("--budget", help="A market buy's most to spend.", show_default=False)
]
TokenOpt = Annotated[str, typer.Option("--token", metavar="yes|no")]
OutcomeOpt = Annotated[int, typer.Option("--outcome", help="Outcome index.")]
Tif = Annotated[str | None, typer.Option("--tif", metavar="gtc|gtd|ioc|fok")]


@order_app.command("place")
def order_place(
    market: Annotated[str, typer.Argument(metavar="MARKET")],
    side: Side,
    qty: Qty = None,
    price: Price = None,
    budget: Budget = None,
    token: TokenOpt = "yes",
    outcome: OutcomeOpt = 0,
    tif: Tif = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at", metavar="RFC3339")] = None,
    post_only: Annotated[bool, typer.Option("--post-only")] = False,
    client_order_id: Annotated[str | None, typer.Option("--client-order-id")] = None,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """Place an order: a limit order with --price, else a market order."""
    with _guard("order place", json_out), _sdk(url, api_key) as client:
        _order_args(side, qty, price, budget, token)
        placed = client.place_order(
            market,
            side,  # type: ignore[arg-type]
            qty=qty,
            price=price,
            budget=budget,
            token=token,  # type: ignore[arg-type]
            outcome=outcome,
            tif=tif,  # type: ignore[arg-type]
            expires_at=expires_at,
            post_only=post_only,
            client_order_id=client_order_id,
            idempotency_key=idempotency_key,
        )
        if json_out:
            _print_json(placed.to_dict())
        else:
            print(placement_summary(placed))


def placement_summary(placed: Placement) -> str:
    """One line: what filled (average price, fees), what rests, and the order's status."""
    token = placed.token.upper()
    limit = f" limit {placed.price}" if placed.type == "limit" else ""
    line = f"order {placed.id} {placed.status}: {placed.side} {placed.qty} {token}{limit}"
    if placed.filled:
        verb = "paid" if placed.side == "buy" else "received"
        line += (f"; filled {placed.filled} at average {placed.average_price} "
                 f"({verb} {placed.value}, fees {placed.fees})")  # fmt: skip
    else:
        line += "; nothing filled"
    if placed.status == "resting":
        line += f"; {placed.remaining} resting at {placed.price}"
    elif placed.remaining:
        line += f"; {placed.remaining} not filled ({placed.status})"
    return line


@order_app.command("preview")
def order_preview(
    market: Annotated[str, typer.Argument(metavar="MARKET")],
    side: Side,
    qty: Qty = None,
    price: Price = None,
    budget: Budget = None,
    token: TokenOpt = "yes",
    outcome: OutcomeOpt = 0,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """What an order would do now (cost, average price); nothing is placed."""
    with _guard("order preview", json_out), _sdk(url, api_key) as client:
        _order_args(side, qty, price, budget, token)
        preview = client.preview_order(
            market,
            side,  # type: ignore[arg-type]
            qty=qty,
            price=price,
            budget=budget,
            token=token,  # type: ignore[arg-type]
            outcome=outcome,
        )
        if json_out:
            _print_json(preview.to_dict())
        else:
            print(f"would fill {preview.filled_qty} at average {preview.average_price or '-'}: "
                  f"value {preview.value}, fee {preview.fee}, total {preview.total}"
                  + (", the rest would rest" if preview.would_rest else ""))  # fmt: skip


@order_app.command("list")
def order_list(
    market: Annotated[str | None, typer.Option("--market")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, closed, or one status.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many orders.")] = 50,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """My orders, newest first."""
    with _guard("order list", json_out), _sdk(url, api_key) as client:
        found: list[Order] = []
        for order in client.iter_orders(market=market, status=status, page_size=min(limit, 200)):
            if len(found) >= limit:
                break
            found.append(order)
        if json_out:
            _print_json({"items": [o.to_dict() for o in found]})
            return
        for o in found:
            print(f"{o.id}  {o.market}  {o.side} {o.qty} {o.token.upper()} @ {o.price}  "
                  f"{o.status}, filled {o.filled}")  # fmt: skip
        if not found:
            print("no orders")


@order_app.command("amend")
def order_amend(
    order_id: Annotated[int, typer.Argument(metavar="ORDER_ID")],
    qty: Annotated[str, typer.Argument(help="The new unfilled size, e.g. 5.")],
    price: Annotated[str, typer.Option("--price", help="The new limit (own token).")],
    client_order_id: Annotated[
        str | None, typer.Option("--client-order-id", help="A new client order id.")
    ] = None,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """Amend a resting order: the same --price and a smaller QTY reduce it in place (same
    id, same place in the queue); anything else replaces it in one step."""
    with _guard("order amend", json_out), _sdk(url, api_key) as client:
        done = client.amend_order(order_id, price=price, qty=qty, client_order_id=client_order_id)
        if json_out:
            _print_json(done.to_dict())
        elif done.order is not None:
            print(f"order {done.order.id} reduced in place: {done.order.remaining} left")
        elif done.placement is not None:
            p = done.placement
            print(f"order {order_id} replaced by {p.id}: {p.qty} @ {p.price}, {p.status}")


@order_app.command("cancel")
def order_cancel(
    order_id: Annotated[int | None, typer.Argument(metavar="[ORDER_ID]")] = None,
    cancel_all: Annotated[bool, typer.Option("--all", help="Cancel all my open orders.")] = False,
    market: Annotated[str | None, typer.Option("--market", help="With --all: one market.")] = None,
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """Cancel one open order, or --all (optionally in --market)."""
    with _guard("order cancel", json_out), _sdk(url, api_key) as client:
        if (order_id is None) == (not cancel_all):
            raise CliError("give an ORDER_ID or --all")
        if order_id is not None:
            cancelled = client.cancel_order(order_id)
            if json_out:
                _print_json(cancelled.to_dict())
            else:
                print(f"order {cancelled.id} cancelled, {cancelled.released} released")
        else:
            everything = client.cancel_all(market)
            if json_out:
                _print_json(everything.to_dict())
            else:
                print(f"cancelled {len(everything.cancelled)} orders")


@app.command()
def portfolio(url: Url = URL_DEFAULT, api_key: ApiKey = None, json_out: JsonOut = False) -> None:
    """My balances and positions."""
    with _guard("portfolio", json_out), _sdk(url, api_key) as client:
        balances = client.balances()
        positions = client.positions()
        if json_out:
            _print_json(
                {"balances": balances.to_dict(), "positions": [p.to_dict() for p in positions]}
            )
            return
        print(f"{balances.account}: available {balances.available}, escrow {balances.escrow}, "
              f"total {balances.total}")  # fmt: skip
        for p in positions:
            print(f"  {p.market} {p.outcome_name} {p.token.upper()}: {p.qty} "
                  f"(+{p.escrowed} in orders), average cost {p.average_cost or '-'}, "
                  f"mark {p.mark_price or '-'}, unrealized {p.unrealized_pnl or '-'}")  # fmt: skip


@clock_app.command("advance")
def clock_advance(
    duration: Annotated[str, typer.Argument(metavar="DURATION", help="e.g. 30m, 6h, 2d, 1h30m")],
    url: Url = URL_DEFAULT,
    api_key: ApiKey = None,
    json_out: JsonOut = False,
) -> None:
    """Move simulated time forward, running every timer due on the way (admin)."""
    with _guard("clock advance", json_out):
        seconds = parse_duration(duration)
        with _sdk(url, api_key) as client:
            moved = client.advance_clock(seconds=seconds)
        if json_out:
            _print_json({"seconds": seconds, **moved.to_dict()})
        else:
            print(f"clock now {_when(moved.time)} ({moved.events} events on the way)")


_DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> int:
    """``30m``, ``6h``, ``2d``, ``1h30m`` -> seconds."""
    import re

    parts = re.findall(r"(\d{1,9})([smhdw])", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise CliError(f"not a duration: {text!r} (use e.g. 30m, 6h, 2d, 1h30m)")
    return sum(int(n) * _DURATION_UNITS_S[u] for n, u in parts)
