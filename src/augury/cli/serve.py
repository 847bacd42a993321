"""``augury serve``: the exchange and its HTTP API in one process tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from augury.cli._common import URL_DEFAULT, CliError, _err, _guard, app, run_http


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
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            max=64,
            help="Run every role as a process of its own: one engine, N API nodes on the "
            "port, the followers; needs --nats-url. 0 (default): one process.",
        ),
    ] = 0,
    nats_url: Annotated[
        str | None,
        typer.Option(
            "--nats-url", metavar="URL", help="The bus, for --workers.", show_default=False
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="On an empty database, first seed the demo (augury demo seed); "
            "development mode only.",
        ),
    ] = False,
    supervised: Annotated[
        bool,
        typer.Option(
            "--supervise/--no-supervise",
            help="Run the server as the child of a small supervisor that holds the port "
            "and restarts the server if it crashes (default); --no-supervise: one process.",
        ),
    ] = True,
    warm_spare: Annotated[
        bool,
        typer.Option(
            "--warm-spare/--no-warm-spare",
            help="Supervised: keep a second server process loaded and waiting, so a "
            "restart takes about a second less (costs that process's memory).",
        ),
    ] = False,
    listen_fd: Annotated[int | None, typer.Option("--listen-fd", hidden=True)] = None,
    spare_fd: Annotated[int | None, typer.Option("--spare-fd", hidden=True)] = None,
    ready_fd: Annotated[int | None, typer.Option("--ready-fd", hidden=True)] = None,
    restart: Annotated[bool, typer.Option("--restart", hidden=True)] = False,
) -> None:
    """Run the exchange and its HTTP API (http://127.0.0.1:8000/docs); settings also come
    from AUGURY_* environment variables. The first start creates an admin account and
    prints its password once. A server that crashes is restarted (same port; it
    recovers from the journal)."""
    from pydantic import ValidationError

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
            "nats_url": nats_url,
        }
        try:
            settings = Settings(**{k: v for k, v in given.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(
                (str(e["loc"][0]) + ": " if e["loc"] else "") + str(e["msg"]) for e in exc.errors()
            )
            raise CliError(problems) from None
        if workers:
            if demo:
                _seed_if_empty(settings)
            _serve_workers(settings, workers)
            return
        if listen_fd is not None:  # the server, as the child of the supervisor below
            status = _serve_child(settings, listen_fd, ready_fd, spare_fd, restart, demo)
            if status:
                raise typer.Exit(status)
            return
        if supervised:
            from augury.cli.serve_supervised import child_flags, supervise_server

            flags = child_flags(given) + (["--demo"] if demo else [])
            status = supervise_server(settings, flags, spare=warm_spare)
            if status:
                raise typer.Exit(status)
            return
        from augury.api import create_app  # not in the supervisor: it stays small
        from augury.roles.services import Services

        if demo:
            _seed_if_empty(settings)
        services = Services.start(settings)  # a locked journal etc. fails here, in one line
        print(banner(settings.host, settings.port), flush=True)
        try:
            run_http(create_app(settings, services=services), settings)
        finally:
            services.stop()


def _serve_child(
    settings: Any,
    listen_fd: int,
    ready_fd: int | None,
    spare_fd: int | None,
    restart: bool,
    demo: bool,
) -> int:
    """``serve --listen-fd N``: the supervised server (augury.cli.serve_supervised);
    with ``--spare-fd``, a warm spare until the supervisor says go."""
    from augury.api import create_app
    from augury.cli.serve_supervised import ServedChild, start_services

    with ServedChild(ready_fd) as child:
        if spare_fd is not None and not child.wait_for_go(spare_fd):
            return 0
        if demo and not restart:
            _seed_if_empty(settings)
        services = start_services(settings, restart, child.stop)
        if services is None:
            return 0  # asked to stop while it waited for the journal
        if not restart:
            print(banner(settings.host, settings.port), flush=True)
        app = create_app(settings, services=services)
        return child.serve(app, settings, services, listen_fd)


def _serve_workers(settings: Any, workers: int) -> None:
    """``serve --workers N``: the roles as processes (augury.roles.supervisor)."""
    from augury.roles.supervisor import role_args, supervise

    if not settings.nats_url:
        raise CliError("--workers needs a bus: give --nats-url (or AUGURY_NATS_URL)")
    env: dict[str, str] = {"AUGURY_DATA_DIR": str(settings.data_dir.resolve())}
    for name in ("database_url", "clock", "start", "mode", "nats_url"):
        value = getattr(settings, name)
        if value is not None:
            env[f"AUGURY_{name.upper()}"] = str(value)
    import os

    print(banner(settings.host, settings.port), flush=True)
    print(f"augury serve: one engine, {workers} API node(s) and the followers", flush=True)
    children = role_args(workers, settings.port, settings.host, settings.surveillance)
    supervise(children, {**os.environ, **env})


def banner(host: str, port: int) -> str:
    """What ``augury serve`` says before it listens: where to go, and how the CLI logs in."""
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    where = "" if url == URL_DEFAULT else f" --url {url}"
    return (
        f"augury serve: the web UI and API at {url} (API docs at {url}/docs)\n"
        f"  from the CLI: augury register{where}  (a new trader account), or\n"
        f"                augury login{where} --username NAME  (stores an API key), then\n"
        f"                augury whoami{where} / augury markets list{where}"
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
