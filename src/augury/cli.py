"""The ``augury`` command line: the core demo and the operator's journal tools.

Commands::

    augury demo                                   the terminal demo of the exchange core
    augury serve [--data-dir DIR] [--host H] [--port P] [--database-url URL]
                 [--clock simulated --start RFC3339]
                                                  run the exchange and its HTTP API
    augury verify FILE | --data-dir DIR | --database-url URL
                                                  audit a journal: chain, checkpoints, replay
    augury export (--data-dir DIR | --database-url URL) FILE
                                                  write the journal to an export file
    augury rebuild-projections (--data-dir DIR | --database-url URL)
                                                  recreate the SQL read models from the journal
    augury markets list|show|create               markets, through the API (augury.client)
    augury order place|preview|list|cancel        my orders
    augury portfolio                              my balances and positions
    augury clock advance 6h                       move simulated time (admin)

The API commands take ``--url`` (env ``AUGURY_URL``, default http://127.0.0.1:8000) and
``--api-key`` (env ``AUGURY_API_KEY``); an API error is one line ``code: detail``.

``--data-dir DIR`` means the SQLite journal ``DIR/journal.db`` (and, for projections,
``DIR/projections.db``; the operator key ``DIR/operator.key`` is trusted by ``verify``
if present). ``--database-url`` is a PostgreSQL journal in schema ``--namespace``.

Exit codes: 0 success; 1 the journal failed verification (one line names the seq);
2 a usage error or an operational error (one line, never a traceback).
``--json`` prints one JSON object on stdout instead of the human summary.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from augury.client import Client, Market, Order

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_ERROR = 2

app = typer.Typer(
    name="augury",
    help="Augury: a prediction-market exchange whose markets cannot be silently decided "
    "by one edited source.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class CliError(Exception):
    """An operational error: reported as one line, exit code 2."""


# -- options shared by the journal commands ----------------------------------------------
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Data directory: the SQLite journal is DIR/journal.db.",
        show_default=False,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="A PostgreSQL journal (postgresql://...), instead of --data-dir.",
        show_default=False,
    ),
]
Namespace = Annotated[str, typer.Option("--namespace", help="PostgreSQL schema of the journal.")]
JsonOut = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of a human summary.")
]


demo_app = typer.Typer(
    help="The terminal demo of the exchange core; `augury demo seed` seeds a living demo.",
    invoke_without_command=True,
)
app.add_typer(demo_app, name="demo")


@demo_app.callback()
def demo(ctx: typer.Context) -> None:
    """Run the terminal demo of the exchange core (or `augury demo seed`)."""
    if ctx.invoked_subcommand is None:
        from augury.demo import run_demo

        raise typer.Exit(run_demo())


@demo_app.command("seed")
def demo_seed(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="Default: ./data.", show_default=False),
    ] = None,
    database_url: DatabaseUrl = None,
    days: Annotated[int, typer.Option("--days", help="Days of simulated trading.")] = 21,
    seed: Annotated[int, typer.Option("--seed", help="The RNG seed (same seed, same demo).")] = (
        20251115
    ),
    json_out: JsonOut = False,
) -> None:
    """Seed demo markets and weeks of scripted trading (development mode; server stopped).

    Journaled and repeatable: when the demo is already there it does nothing."""
    from augury.demo_seed import seed as seed_demo

    with _guard("demo seed", json_out):
        settings = _settings({"data_dir": data_dir, "database_url": database_url})
        if settings.production:
            raise CliError("the demo is never seeded in production mode")
        report = seed_demo(
            settings, days=days, rng_seed=seed, log=(lambda _: None) if json_out else print
        )
        if json_out:
            _print_json(msgspec.to_builtins(report))
        else:
            print(f"augury demo seed: {report.message}")


def _settings(given: dict[str, Any]) -> Any:
    """Settings from flags (None: not given) over AUGURY_* variables; errors in one line."""
    from pydantic import ValidationError

    from augury.settings import Settings

    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            (str(e["loc"][0]) + ": " if e["loc"] else "") + str(e["msg"]) for e in exc.errors()
        )
        raise CliError(problems) from None


@app.command()
def verify(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="An export file (augury export), instead of a live journal."
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    namespace: Namespace = "augury",
    trusted_key: Annotated[
        str | None,
        typer.Option(
            "--trusted-key",
            metavar="HEX",
            help="The operator's Ed25519 public key (64 hex): every checkpoint must be "
            "signed by it. Default with --data-dir: the key in DIR/operator.key, if any.",
            show_default=False,
        ),
    ] = None,
    from_snapshot: Annotated[
        bool,
        typer.Option(
            "--from-snapshot",
            help="Start from the journal's newest snapshot instead of seq 1 (faster; the "
            "history before it is not re-checked). A full verify checks that snapshot.",
        ),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Verify a journal: every hash and link, every checkpoint, and a replay of every command."""
    from augury.engine.verify import SnapshotState, start_from_snapshot
    from augury.engine.verify import verify as verify_records
    from augury.journal import FileJournalReader, SnapshotError

    with _guard("verify", json_out), ExitStack() as stack:
        _one_source(file, data_dir, database_url)
        key, key_origin = _trusted_key(trusted_key, data_dir)
        start, check, snapshot_problem = None, None, ""
        if file is not None:
            if from_snapshot:
                raise CliError(
                    "--from-snapshot needs a live journal (--data-dir or --database-url)"
                )
            if not file.is_file():
                raise CliError(f"no export file at {file}")
            records: Iterable[Any] = FileJournalReader(file)
            total, source = max(_count_lines(file) - 2, 0), str(file)
        else:
            store, source = _open_store(stack, data_dir, database_url, namespace)
            total = store.count()
            if from_snapshot:
                start = start_from_snapshot(store)
                if start is None:
                    raise CliError(f"{source} holds no snapshot")
                total -= start.head[0]
            else:
                try:
                    snap = store.latest_snapshot()
                except SnapshotError as exc:  # a cache, not history: the walk goes on
                    snap, snapshot_problem = None, str(exc)
                check = None if snap is None else SnapshotState(snap.seq, snap.state)
            records = store.read(from_seq=start.head[0] + 1 if start else 1)
        with _progress(json_out, "verifying", total) as advance:
            report = verify_records(records, key, advance, start=start, snapshot=check)
        result = msgspec.to_builtins(report)
        result.update(
            source=source,
            trusted_key=key.hex() if key else None,
            snapshot_problem=snapshot_problem or None,
        )
        if json_out:
            _print_json(result)
        else:
            _verify_summary(report, source, key, key_origin)
            if snapshot_problem:
                print(f"  warning: newest snapshot not checked: {snapshot_problem}")
        if report.discrepancy is not None:
            if not json_out:
                _err(f"augury verify: FAILED at {report.discrepancy}")
            raise typer.Exit(EXIT_VERIFY_FAILED)


@app.command()
def export(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The export file to write (atomically).")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    namespace: Namespace = "augury",
    json_out: JsonOut = False,
) -> None:
    """Export a journal to one self-describing file, verifying the chain on the way."""
    from augury.journal import export_journal

    with _guard("export", json_out), ExitStack() as stack:
        store, source = _open_store(stack, data_dir, database_url, namespace)
        started = time.perf_counter()
        head = export_journal(store, file)
        seconds = time.perf_counter() - started
        result = {
            "ok": True,
            "source": source,
            "file": str(file),
            "records": head[0],
            "head_seq": head[0],
            "head_hash": head[1].hex(),
            "bytes": file.stat().st_size,
            "seconds": seconds,
        }
        if json_out:
            _print_json(result)
        else:
            Console(soft_wrap=True).print(
                f"[green]exported[/] {head[0]:,} records of {escape(source)} "
                f"to {escape(str(file))} ({result['bytes']:,} bytes) in {seconds:.2f} s\n"
                f"head seq={head[0]} hash={head[1].hex()}",
                highlight=False,
            )


@app.command("rebuild-projections")
def rebuild_projections(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    namespace: Namespace = "augury",
    projections_url: Annotated[
        str | None,
        typer.Option(
            "--projections-url",
            metavar="URL",
            help="Where the read models go. Default: DIR/projections.db with --data-dir, "
            "the journal's database with --database-url.",
            show_default=False,
        ),
    ] = None,
    projections_namespace: Annotated[
        str,
        typer.Option("--projections-namespace", help="PostgreSQL schema of the read models."),
    ] = "augury_projections",
    json_out: JsonOut = False,
) -> None:
    """Empty the SQL read models and rebuild them from the journal (chain-checked)."""
    from augury.projections import Projector

    with _guard("rebuild-projections", json_out), ExitStack() as stack:
        store, source = _open_store(stack, data_dir, database_url, namespace)
        target = projections_url
        if target is None:
            target = str(data_dir / "projections.db") if data_dir else database_url
        assert target is not None
        projector = stack.enter_context(Projector(target, namespace=projections_namespace))
        total = store.count()
        started = time.perf_counter()
        with _progress(json_out, "projecting", total) as advance:
            applied = projector.rebuild(_chained(store.read()), advance)
        seconds = time.perf_counter() - started
        result = {
            "ok": True,
            "source": source,
            "projections": _redact(target),
            "records": applied,
            "last_seq": projector.last_seq(),
            "seconds": seconds,
            "records_per_s": applied / seconds if seconds else None,
        }
        if json_out:
            _print_json(result)
        else:
            Console(soft_wrap=True).print(
                f"[green]rebuilt[/] projections in {escape(_redact(target))} from {applied:,} "
                f"records of {escape(source)} (last seq {result['last_seq']}) in {seconds:.2f} s",
                highlight=False,
            )


@app.command()
def serve(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Data directory: SQLite journal DIR/journal.db, read models "
            "DIR/projections.db, operator key DIR/operator.key. Default: ./data.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Default 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default 8000.")] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="PostgreSQL (postgresql://...) for the journal and read models.",
            show_default=False,
        ),
    ] = None,
    clock: Annotated[
        str | None,
        typer.Option("--clock", metavar="system|simulated", help="Default: system."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            metavar="RFC3339",
            help="Start of simulated time, e.g. 2025-11-14T00:00:00Z.",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", metavar="development|production", help="Default: development."),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="On an empty database, first seed the demo (augury demo seed); "
            "development mode only.",
        ),
    ] = False,
) -> None:
    """Run the exchange and its HTTP API (http://127.0.0.1:8000/docs); settings also come
    from AUGURY_* environment variables. The first start creates an admin account and
    prints its password once."""
    import uvicorn
    from pydantic import ValidationError

    from augury.api import create_app
    from augury.api.services import Services
    from augury.settings import Settings

    with _guard("serve", False):
        given: dict[str, Any] = {
            "data_dir": data_dir,
            "host": host,
            "port": port,
            "database_url": database_url,
            "clock": clock,
            "start": start,
            "mode": mode,
        }
        try:
            settings = Settings(**{k: v for k, v in given.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(
                (str(e["loc"][0]) + ": " if e["loc"] else "") + str(e["msg"]) for e in exc.errors()
            )
            raise CliError(problems) from None
        if demo:
            _seed_if_empty(settings)
        services = Services.start(settings)  # a locked journal etc. fails here, in one line
        config = uvicorn.Config(
            create_app(settings, services=services),
            host=settings.host,
            port=settings.port,
            lifespan="on",
            ws="websockets-sansio",
            log_level="info",
            access_log=settings.access_log,
            server_header=False,
        )
        server = uvicorn.Server(config)
        try:
            server.run()
        except SystemExit:
            pass  # uvicorn exits this way when it cannot start (logged above)
        finally:
            services.stop()
        if not server.started:
            raise CliError(
                f"could not serve on {settings.host}:{settings.port} (see the log above)"
            )


def _seed_if_empty(settings: Any) -> None:
    """``serve --demo``: seed the demo into an empty journal (never in production)."""
    from augury.demo_seed import journal_is_empty, seed

    if settings.production:
        _err("augury serve: --demo is ignored in production mode")
        return
    if not journal_is_empty(settings):
        return
    print("augury serve: seeding the demo (augury demo seed) ...", flush=True)
    print(f"augury serve: {seed(settings).message}", flush=True)


# -- the SDK's commands: markets, order, portfolio, clock -----------------------------------
Url = Annotated[
    str,
    typer.Option("--url", envvar="AUGURY_URL", metavar="URL", help="The server (env AUGURY_URL)."),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="AUGURY_API_KEY",
        metavar="KEY",
        help="An API key, aug_... (env AUGURY_API_KEY).",
        show_default=False,
    ),
]
URL_DEFAULT = "http://127.0.0.1:8000"

markets_app = typer.Typer(help="List, show and create markets.", no_args_is_help=True)
order_app = typer.Typer(help="Place, preview, list and cancel orders.", no_args_is_help=True)
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
            print(f"{market.id}  {market.status:<8} closes {_when(market.close_time)}  "
                  f"{market.question}")  # fmt: skip
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
        print(f"  status {found.status}, closes {_when(found.close_time)}, "
              f"tick {found.tick_size}, fee {found.fee_bps} bps, outcomes "
              f"{', '.join(found.outcomes)}")  # fmt: skip
        if quote.prices is not None:
            print("  maker prices " + ", ".join(str(p) for p in quote.prices))
        print("  bids " + (", ".join(f"{lv.qty}@{lv.price}" for lv in book.bids) or "-"))
        print("  asks " + (", ".join(f"{lv.qty}@{lv.price}" for lv in book.asks) or "-"))


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
    """Create a market (market_creator or admin): binary, or categorical with --outcome."""
    with _guard("markets create", json_out), _sdk(url, api_key) as client:
        outcomes = list(outcome or [])
        created = client.create_market(
            question,
            close_time,
            id=market_id,
            type="categorical" if len(outcomes) > 2 else "binary",
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
            print(f"created {created.id}: {created.question} (subsidy {created.subsidy})")


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
            print(f"order {placed.id} {placed.status}: {placed.side} {placed.qty} "
                  f"{placed.token.upper()} @ {placed.price}, filled {placed.filled}")  # fmt: skip


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


class _sdk:
    """A :class:`augury.client.Client` whose errors become one CLI line (``code: detail``)."""

    def __init__(self, url: str, api_key: str | None) -> None:
        from augury.client import Client

        self.client = Client(url, api_key=api_key or None)

    def __enter__(self) -> Client:
        return self.client

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        from augury.client import AuguryError

        self.client.close()
        if isinstance(exc, AuguryError):
            raise CliError(str(exc)) from None
        if isinstance(exc, TypeError | ValueError):  # bad amounts or instants
            raise CliError(str(exc)) from None


def _when(instant: Any) -> str:
    return str(instant.isoformat().replace("+00:00", "Z"))


# -- helpers ---------------------------------------------------------------------------
class _guard:
    """Turn any exception into one line on stderr (and JSON on stdout) and exit code 2.

    A ChainError (a record that does not verify) exits with 1, as a failed verify does.
    """

    def __init__(self, command: str, json_out: bool) -> None:
        self.command = command
        self.json_out = json_out

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc is None or isinstance(exc, typer.Exit | typer.Abort | KeyboardInterrupt):
            return  # re-raised as it is
        message = " ".join(str(exc).split()) or type(exc).__name__
        if not isinstance(exc, CliError):
            message = f"{type(exc).__name__}: {message}"
        from augury.journal import ChainError

        if self.json_out:
            _print_json({"ok": False, "error": message})
        _err(f"augury {self.command}: error: {message}")
        # a record that fails verification (e.g. while exporting) is bad data, as for verify
        raise typer.Exit(EXIT_VERIFY_FAILED if isinstance(exc, ChainError) else EXIT_ERROR)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _print_json(value: Any) -> None:
    print(json.dumps(value, sort_keys=True), flush=True)


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def _one_source(file: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    given = [
        name
        for name, value in (
            ("FILE", file),
            ("--data-dir", data_dir),
            ("--database-url", database_url),
        )
        if value is not None
    ]
    if len(given) != 1:
        names = " and ".join(given) if given else "nothing"
        raise CliError(f"give exactly one journal source, got {names}")


def _open_store(
    stack: ExitStack, data_dir: Path | None, database_url: str | None, namespace: str
) -> tuple[Any, str]:
    """The journal store of --data-dir or --database-url (never created by accident)."""
    from augury.journal import PostgresJournalStore, SqliteJournalStore

    if (data_dir is None) == (database_url is None):
        raise CliError("give exactly one of --data-dir or --database-url")
    if data_dir is not None:
        path = data_dir / "journal.db"
        if not path.is_file():
            raise CliError(f"no journal at {path}")
        return stack.enter_context(SqliteJournalStore(path)), str(path)
    assert database_url is not None
    if not database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise CliError(f"--database-url must be a postgresql:// URL, got {_redact(database_url)}")
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    _require_postgres_journal(dsn, namespace)
    store = stack.enter_context(PostgresJournalStore(dsn, namespace))
    return store, f"{_redact(database_url)} (schema {namespace})"


def _require_postgres_journal(dsn: str, namespace: str) -> None:
    """Refuse a schema without a journal (opening a store would create an empty one)."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'journal'",
            (namespace,),
        ).fetchone()
    if found is None:
        raise CliError(f"no journal in schema {namespace!r} of {_redact(dsn)}")


def _count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def _trusted_key(hex_key: str | None, data_dir: Path | None) -> tuple[bytes | None, str]:
    """The raw public key to trust, and where it came from."""
    if hex_key is not None:
        try:
            raw = bytes.fromhex(hex_key)
        except ValueError:
            raw = b""
        if len(raw) != 32 or hex_key != hex_key.lower():
            raise CliError("--trusted-key must be 64 lowercase hex characters")
        return raw, "--trusted-key"
    if data_dir is not None and (data_dir / "operator.key").is_file():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from augury.journal import public_key_bytes

        path = data_dir / "operator.key"
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CliError(f"{path} does not hold an Ed25519 private key")
        return public_key_bytes(key), str(path)
    return None, ""


def _chained(records: Iterable[Any]) -> Iterator[Any]:
    """Pass records through, raising ChainError at the first that does not chain."""
    from augury.journal.records import GENESIS_PREV_HASH, verify_link, verify_record

    head = (0, GENESIS_PREV_HASH)
    for record in records:
        verify_link(head, record)
        verify_record(record)
        head = (record.seq, record.hash)
        yield record


class _progress:
    """A rich progress bar on stderr (only on a terminal, never with --json)."""

    def __init__(self, json_out: bool, label: str, total: int | None) -> None:
        console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=json_out or not console.is_terminal,
        )
        self.task = self.bar.add_task(label, total=total)

    def __enter__(self) -> Callable[[int], None]:
        self.bar.start()
        return lambda done: self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _verify_summary(report: Any, source: str, key: bytes | None, key_origin: str) -> None:
    console = Console(highlight=False, soft_wrap=True)
    rate = report.records / report.seconds if report.seconds else 0.0
    status = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
    console.print(f"{status} {escape(source)}")
    console.print(
        f"  {report.records:,} records verified ({report.commands:,} commands re-executed, "
        f"{report.checkpoints:,} checkpoints) in {report.seconds:.2f} s ({rate:,.0f} records/s)"
    )
    console.print(f"  head seq={report.head_seq} hash={report.head_hash}")
    if report.from_seq:
        console.print(
            f"  started from the snapshot at seq {report.from_seq} "
            "(the history before it was not re-checked)"
        )
    if report.snapshot_verified_seq:
        console.print(f"  the snapshot at seq {report.snapshot_verified_seq} matches the replay")
    from augury.engine.verify import checkpoint_summary

    console.print("  " + escape(checkpoint_summary(report, key.hex() if key else None, key_origin)))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: sys.argv[1:]); return the exit code."""
    try:
        code = app(args=argv, prog_name="augury", standalone_mode=False)
    except SystemExit as exc:
        return _exit_code(exc.code)
    except Exception as exc:
        message, exit_code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if callable(message) and isinstance(exit_code, int):  # the parser's usage errors
            where = getattr(getattr(exc, "ctx", None), "command_path", None) or "augury"
            text = " ".join(str(message()).split())
            if text:  # empty when the help was shown instead (no arguments at all)
                _err(f"{where}: error: {text} (see {where} --help)")
            return exit_code
        if type(exc).__name__ == "Abort":  # Ctrl-C
            _err("augury: aborted")
            return EXIT_ERROR
        raise
    return code if isinstance(code, int) else EXIT_OK


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    _err(str(code))
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
