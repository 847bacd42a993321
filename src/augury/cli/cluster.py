"""``augury cluster status``: who leads the journal, at which epoch, and who follows.

Reads the journal's lease and the members' heartbeats in PostgreSQL (``roles.cluster``):
the leader and its epoch, each standby's and each API node's seq, lag (records behind
the journal's head) and the age of its last heartbeat. See docs/failover.md.
"""

from __future__ import annotations

from typing import Annotated

import typer

from augury.cli._common import CliError, JsonOut, _guard, _print_json, _redact, _settings, app

cluster_app = typer.Typer(help="The engines and API nodes sharing a PostgreSQL journal.")
app.add_typer(cluster_app, name="cluster")

STALE_S = 5.0
"""A member whose last heartbeat is older than this is shown as ``gone?``."""


@cluster_app.command("status")
def status(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="The PostgreSQL journal (env AUGURY_DATABASE_URL).",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            help="PostgreSQL schema of the journal (env AUGURY_JOURNAL_NAMESPACE).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Show the leader, its epoch, and each standby's and API node's lag."""
    with _guard("cluster status", json_out):
        from augury.roles.cluster import cluster_status, dsn_of, is_postgres

        settings = _settings({"database_url": database_url, "journal_namespace": namespace})
        if not is_postgres(settings.database_url):
            raise CliError(
                "a cluster needs a PostgreSQL journal: give --database-url postgresql://... "
                "(a SQLite journal has one engine, on one machine)"
            )
        try:
            found = cluster_status(dsn_of(settings), settings.journal_namespace)
        except Exception as exc:
            where = f"{_redact(settings.database_url)} (schema {settings.journal_namespace})"
            raise CliError(f"cannot read the cluster at {where}: {exc}") from None
        if json_out:
            _print_json({"ok": True, **found})
            return
        if found["lease_live"]:
            print(f"leader   {found['leader']}  epoch {found['epoch']}")
        else:
            print(f"leader   none (lease lapsed; last epoch {found['epoch']})")
        print(f"journal  head seq {found['journal_head']}")
        for member in found["members"]:
            age = member["heartbeat_age_s"]
            alive = "" if age <= STALE_S else "  gone?"
            print(
                f"{member['role']:<8} {member['name']}  seq {member['seq']}  "
                f"lag {member['lag']}  heartbeat {age:.1f} s ago  {member['detail']}{alive}"
            )
