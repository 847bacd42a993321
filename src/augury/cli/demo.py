"""``augury demo``: the terminal demo of the core, and ``augury demo seed``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer

from augury.cli._common import (
    CliError,
    DatabaseUrl,
    JsonOut,
    _guard,
    _print_json,
    _settings,
    app,
)

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
