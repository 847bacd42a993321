"""``augury engine``, ``augury api``, ``augury follow``: the roles as processes of their own.

One engine (the sequencer, the journal's only writer), any number of API nodes on any
machines, and the followers (read models, surveillance, evidence observer), connected by
NATS (``--nats-url``) and sharing one PostgreSQL database (``--database-url``); see
docs/architecture.md. Each role exits non-zero with one line when the bus or the database
cannot be reached at start.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from augury.cli._common import CliError, _guard, _settings, app, run_http

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Data directory (SQLite, operator key).",
        show_default=False,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", metavar="URL", help="PostgreSQL (postgresql://...).", show_default=False
    ),
]
NatsUrl = Annotated[
    str | None,
    typer.Option(
        "--nats-url",
        metavar="URL",
        help="The bus (env AUGURY_NATS_URL), e.g. nats://127.0.0.1:4222.",
        show_default=False,
    ),
]
Clock = Annotated[
    str | None, typer.Option("--clock", metavar="system|simulated", help="Default: system.")
]
Start = Annotated[
    str | None,
    typer.Option("--start", metavar="RFC3339", help="Start of simulated time.", show_default=False),
]
Mode = Annotated[
    str | None,
    typer.Option("--mode", metavar="development|production", help="Default: development."),
]


def _role_settings(**given: Any) -> Any:
    return _settings(given)


def _run(main: Callable[[], Coroutine[Any, Any, int]]) -> None:
    from augury.roles.node import RoleError

    try:
        # uvloop (with uvicorn[standard]) where it exists, as the API nodes under uvicorn
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            status = runner.run(main())
    except RoleError as exc:
        raise CliError(str(exc)) from None
    if status:
        raise typer.Exit(status)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _until_signal(work: Callable[[asyncio.Event], Awaitable[Any]]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await work(stop)
    return 0


@app.command()
def engine(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    nats_url: NatsUrl = None,
    clock: Clock = None,
    start: Start = None,
    mode: Mode = None,
    standby: Annotated[
        bool,
        typer.Option(
            "--standby",
            help="Follow the journal as a hot standby and lead when the leader's lease "
            "lapses (PostgreSQL).",
        ),
    ] = False,
    node_name: Annotated[
        str | None, typer.Option("--node-name", help="This engine's name in the lease.")
    ] = None,
) -> None:
    """Run the sequencer: the one writer of the journal, fed command batches over the bus.
    On PostgreSQL it leads under a fenced lease; ``--standby`` follows until it lapses."""
    from augury.roles.engine_role import run_engine

    with _guard("engine", False):
        settings = _role_settings(
            data_dir=data_dir,
            database_url=database_url,
            nats_url=nats_url,
            clock=clock,
            start=start,
            mode=mode,
            node_name=node_name,
        )
        _run(lambda: run_engine(settings, standby=standby))


@app.command()
def api(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    nats_url: NatsUrl = None,
    host: Annotated[str | None, typer.Option("--host", help="Default 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default 8000.")] = None,
    clock: Clock = None,
    start: Start = None,
    mode: Mode = None,
    node_name: Annotated[
        str | None, typer.Option("--node-name", help="This node's name on the bus.")
    ] = None,
    reuse_port: Annotated[
        bool,
        typer.Option("--reuse-port", help="Share the port with other nodes (SO_REUSEPORT)."),
    ] = False,
) -> None:
    """Run an HTTP/WebSocket API node: commands go to the engine over the bus, live reads
    come from this node's replica of the journal."""

    from augury.api import create_app
    from augury.roles.node import open_node

    with _guard("api", False):
        settings = _role_settings(
            data_dir=data_dir,
            database_url=database_url,
            nats_url=nats_url,
            host=host,
            port=port,
            clock=clock,
            start=start,
            mode=mode,
            node_name=node_name,
        )
        _run(lambda: _preflight(settings))
        sockets = [_shared_socket(settings.host, settings.port)] if reuse_port else None
        run_http(create_app(settings, node=lambda: open_node(settings)), settings, sockets)


def _shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket other processes may bind too (the kernel spreads connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc}") from None
    return sock


async def _preflight(settings: Any) -> int:
    """Reach the bus and the journal once before serving: a clear line if either is down."""
    from augury.roles.node import connect_bus, open_journal

    bus = await connect_bus(settings)
    try:
        store = await asyncio.to_thread(open_journal, settings)
        store.close()
    finally:
        await bus.close()
    return 0


@app.command()
def follow(
    role: Annotated[
        str, typer.Option("--role", metavar="project|watch|observe", help="Which follower.")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    nats_url: NatsUrl = None,
    clock: Clock = None,
    start: Start = None,
    mode: Mode = None,
) -> None:
    """Run a follower of the committed records: the read models (project), surveillance
    (watch) or the evidence observer (observe); each restartable on its own."""
    with _guard("follow", False):
        if role not in ("project", "watch", "observe"):
            raise CliError(f"--role must be project, watch or observe, not {role!r}")
        settings = _role_settings(
            data_dir=data_dir,
            database_url=database_url,
            nats_url=nats_url,
            clock=clock,
            start=start,
            mode=mode,
        )
        runner = {"project": _project, "watch": _watch, "observe": _observe}[role]
        from augury.engine.gc_tuning import tune_gc

        tune_gc()  # each applies every record, with the engine's churn (gc_tuning)
        _run(lambda: _until_signal(lambda stop: runner(settings, stop)))


async def _project(settings: Any, stop: asyncio.Event) -> None:
    from augury.projections import Projector
    from augury.roles.node import connect_bus, open_journal
    from augury.roles.read_models import run_projector

    bus = await connect_bus(settings)
    store = await asyncio.to_thread(open_journal, settings)
    url = settings.database_url or str(settings.data_dir / "projections.db")
    projector = await asyncio.to_thread(Projector, url, namespace=settings.projections_namespace)
    print("augury follow: projecting the read models", flush=True)
    try:
        await run_projector(projector, bus, store, stop)
    finally:
        projector.close()
        store.close()
        await bus.close()


async def _watch(settings: Any, stop: asyncio.Event) -> None:
    from augury.roles.node import connect_bus, default_node_name, open_journal
    from augury.roles.watch_role import run_watch

    bus = await connect_bus(settings)
    store = await asyncio.to_thread(open_journal, settings)
    print("augury follow: watching the trade stream", flush=True)
    try:
        await run_watch(bus, store, default_node_name("watch"), stop)
    finally:
        store.close()
        await bus.close()


async def _observe(settings: Any, stop: asyncio.Event) -> None:
    from augury.roles.node import default_node_name, open_node
    from augury.roles.observer import Observer
    from augury.roles.services import Services

    engine = await open_node(settings, default_node_name("observe"))
    services = Services.start_node(settings, engine)
    observer = services.observer = Observer(services)
    interval = settings.observer_interval_s or 30.0
    observer.start(interval)
    print(f"augury follow: observing sources every {interval:g} s", flush=True)
    try:
        await stop.wait()
    finally:
        await observer.stop()
        services.stop()
        await engine.aclose()
