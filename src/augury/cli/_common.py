"""What every ``augury`` command shares: the Typer app, exit codes, common options,
the one-line error guard and the SDK client factory."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from augury.client import Client

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_ERROR = 2
WS_FRAME_BYTES_MAX = 64 * 1024
"""uvicorn closes a WebSocket (1009) whose client sends a bigger frame, before buffering
it (the API's own messages are at most 4 KiB; uvicorn's default is 16 MiB)."""

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


def http_config(app: Any, settings: Any, **overrides: Any) -> Any:
    """The ``uvicorn.Config`` of every Augury HTTP process (``serve``, ``api``; and
    ``bench/service.py``'s server): ``app`` on ``settings.host``/``port``, its answers
    written in one write each (:mod:`augury.cli.http_onewrite`); ``overrides`` for tests."""
    import uvicorn

    from augury.cli.http_onewrite import OneWriteHttpProtocol

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": OneWriteHttpProtocol,
        "lifespan": "on",
        "ws": "websockets-sansio",
        "ws_max_size": WS_FRAME_BYTES_MAX,
        "log_level": "info",
        "access_log": settings.access_log,
        "server_header": False,
    }
    return uvicorn.Config(app, **{**options, **overrides})


def run_http(
    app: Any,
    settings: Any,
    sockets: list[Any] | None = None,
    on_server: Callable[[Any], None] | None = None,
) -> None:
    """Serve ``app`` with uvicorn as every Augury HTTP process does (``serve``, ``api``);
    CliError in one line when it could not listen. ``on_server`` gets the
    ``uvicorn.Server`` before it starts (to watch ``started``, set ``should_exit``)."""
    import uvicorn

    config = http_config(app, settings)
    server = uvicorn.Server(config)
    if on_server is not None:
        on_server(server)
    with contextlib.suppress(SystemExit):  # uvicorn exits this way when it cannot start
        server.run(sockets=sockets)
    if not server.started:
        raise CliError(f"could not serve on {settings.host}:{settings.port} (see the log above)")


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
        help="An API key, aug_... (env AUGURY_API_KEY; default: the one augury login stored).",
        show_default=False,
    ),
]
URL_DEFAULT = "http://127.0.0.1:8000"


def stored_key(url: str) -> str | None:
    """The key ``augury login`` stored for ``url`` (``--api-key``/``AUGURY_API_KEY`` win)."""
    from augury.cli import credentials

    try:
        found = credentials.load(url)
    except credentials.CredentialsError as exc:
        raise CliError(str(exc)) from None
    return None if found is None else found.key


class _sdk:
    """A :class:`augury.client.Client` whose errors become one CLI line (``code: detail``)."""

    def __init__(self, url: str, api_key: str | None, *, stored: bool = True) -> None:
        from augury.client import Client

        key = api_key or (stored_key(url) if stored else None)
        self.client = Client(url, api_key=key)

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
