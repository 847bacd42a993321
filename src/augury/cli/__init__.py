"""The ``augury`` command line: the core demo and the operator's journal tools.

Commands::

    augury demo                                   the terminal demo of the exchange core
    augury serve [--data-dir DIR] [--host H] [--port P] [--database-url URL]
                 [--clock simulated --start RFC3339]
                                                  run the exchange and its HTTP API
                                                  (restarted on the same port if it crashes)
    augury verify FILE | --data-dir DIR | --database-url URL
                                                  audit a journal: chain, checkpoints, replay
    augury export (--data-dir DIR | --database-url URL) FILE
                                                  write the journal to an export file
    augury rebuild-projections (--data-dir DIR | --database-url URL)
                                                  recreate the SQL read models from the journal
    augury markets list|show|create               markets, through the API (augury.client)
    augury order place|preview|list|amend|cancel  my orders
    augury portfolio                              my balances and positions
    augury clock advance 6h                       move simulated time (admin)
    augury register | login | logout | whoami     my account; login stores an API key (0600)
    augury keys create|list|revoke                my API keys (with the password)
    augury cluster status                         the leader, its epoch, standbys, API nodes

The API commands take ``--url`` (env ``AUGURY_URL``, default http://127.0.0.1:8000) and
``--api-key`` (env ``AUGURY_API_KEY``; default: the key ``augury login`` stored for that
URL); an API error is one line ``code: detail``.

``--data-dir DIR`` means the SQLite journal ``DIR/journal.db`` (and, for projections,
``DIR/projections.db``; the operator key ``DIR/operator.key`` is trusted by ``verify``
if present). ``--database-url`` is a PostgreSQL journal in schema ``--namespace``.

Exit codes: 0 success; 1 the journal failed verification (one line names the seq);
2 a usage error or an operational error (one line, never a traceback).
``--json`` prints one JSON object on stdout instead of the human summary.
"""

from __future__ import annotations

# The command modules register their commands on ``app`` when imported.
from augury.cli import account, cluster, demo, journal_tools, roles, serve, trading
from augury.cli._common import EXIT_ERROR, EXIT_OK, EXIT_VERIFY_FAILED, _err, app
from augury.cli.serve import _seed_if_empty
from augury.cli.trading import parse_duration

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_VERIFY_FAILED",
    "_seed_if_empty",
    "account",
    "app",
    "cluster",
    "demo",
    "journal_tools",
    "main",
    "parse_duration",
    "roles",
    "serve",
    "trading",
]


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
