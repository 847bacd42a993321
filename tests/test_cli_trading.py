"""The API commands of ``augury`` (markets, order, portfolio, clock) against a real server.

They run in-process through ``main(argv)`` and talk HTTP to ``augury serve`` (the API
tests' server); every command is checked with ``--json`` parsed, and errors are one
line with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from augury.cli import EXIT_ERROR, main, parse_duration
from augury.client import Client
from tests.api.conftest import PASSWORD, Server, server
from tests.client.conftest import CLOSE, unique

__all__ = ["server"]  # the session's server, re-exported for this module


@pytest.fixture(scope="module")
def keys(server: Server) -> Iterator[dict[str, str]]:
    """API keys: the admin's (every scope) and a fresh trader's (read, trade)."""
    with Client(server.base_url) as admin, Client(server.base_url) as trader:
        admin.login("admin", server.admin_password)
        name = unique("cli")
        trader.register(name, PASSWORD)
        trader.login(name, PASSWORD)
        yield {
            "admin": admin.create_api_key("cli", ["read", "trade", "admin"]).key,
            "trader": trader.create_api_key("cli", ["read", "trade"]).key,
            "name": name,
        }


def run(capsys: pytest.CaptureFixture[str], server: Server, key: str, *argv: str) -> dict[str, Any]:
    code = main([*argv, "--url", server.base_url, "--api-key", key, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    found: dict[str, Any] = json.loads(captured.out)
    return found


def fail(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == EXIT_ERROR
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err + captured.out, captured
    return lines[0]


def test_markets_orders_portfolio_clock(
    server: Server, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    admin, trader = keys["admin"], keys["trader"]
    category = unique("clicat")
    created = run(
        capsys, server, admin, "markets", "create", "Will the CLI work?",
        "--close-time", CLOSE, "--category", category, "--liquidity", "10",
    )  # fmt: skip
    mid = created["id"]
    assert created["liquidity"] == "10" and created["category"] == category
    listed = run(capsys, server, admin, "markets", "list", "--category", category)
    assert [m["id"] for m in listed["items"]] == [mid]
    shown = run(capsys, server, trader, "markets", "show", mid)
    assert shown["market"]["question"] == "Will the CLI work?"
    assert shown["quote"]["prices"] == ["0.5", "0.5"] and shown["book"]["bids"] == []
    cat = run(
        capsys, server, admin, "markets", "create", "Which?", "--close-time", CLOSE,
        "--outcome", "A", "--outcome", "B", "--outcome", "C", "--id", unique("cli-cat-"),
    )  # fmt: skip
    assert cat["categorical"] is True and cat["outcomes"] == ["A", "B", "C"]

    preview = run(capsys, server, trader, "order", "preview", mid, "buy", "2")
    assert preview["filled_qty"] == "2" and preview["fills"][0]["venue"] == "maker"
    bid = run(capsys, server, trader, "order", "place", mid, "buy", "3", "--price", "0.2")
    assert (bid["status"], bid["price"], bid["qty"]) == ("resting", "0.2", "3")
    bought = run(capsys, server, trader, "order", "place", mid, "buy", "--budget", "1")
    assert bought["type"] == "market" and bought["filled"] != "0"
    orders = run(capsys, server, trader, "order", "list", "--market", mid, "--status", "open")
    assert [o["id"] for o in orders["items"]] == [bid["id"]]
    reduced = run(capsys, server, trader, "order", "amend", str(bid["id"]), "2", "--price", "0.2")
    assert reduced["replaced"] is False and reduced["order"]["remaining"] == "2"
    cancelled = run(capsys, server, trader, "order", "cancel", str(bid["id"]))
    assert cancelled == {"id": bid["id"], "status": "cancelled", "released": "0.4"}
    other = run(capsys, server, trader, "order", "place", mid, "buy", "1", "--price", "0.01",
                "--token", "no", "--post-only")  # fmt: skip
    assert other["token"] == "no" and other["post_only"] is True
    everything = run(capsys, server, trader, "order", "cancel", "--all", "--market", mid)
    assert everything == {"cancelled": [other["id"]]}

    portfolio = run(capsys, server, trader, "portfolio")
    assert portfolio["balances"]["account"] == keys["name"]
    assert [p["market"] for p in portfolio["positions"]] == [mid]

    with Client(server.base_url) as anon:
        before = anon.health()
    moved = run(capsys, server, admin, "clock", "advance", "6h")
    assert moved["seconds"] == 21_600 and moved["events"] >= 0
    assert moved["time"] >= before.time.isoformat().replace("+00:00", "Z")


def test_scalar_markets(
    server: Server, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A scalar market from the CLI: its type, range, units and the value LONG's prices
    imply, in --json and for humans."""
    admin, trader = keys["admin"], keys["trader"]
    category = unique("cliscalar")
    created = run(
        capsys, server, admin, "markets", "create", "How many ships in March?",
        "--close-time", CLOSE, "--category", category, "--liquidity", "10",
        "--scalar", "0:2000:1:ships",
    )  # fmt: skip
    mid = created["id"]
    assert created["type"] == "scalar" and created["outcomes"] == ["LONG", "SHORT"]
    assert created["scalar"]["units"] == "ships"
    assert (created["scalar"]["low"], created["scalar"]["high"]) == ("0", "2000")
    listed = run(capsys, server, admin, "markets", "list", "--category", category)
    [item] = listed["items"]
    assert item["id"] == mid and item["type"] == "scalar" and item["scalar"]["step"] == "1"
    bid = run(capsys, server, trader, "order", "place", mid, "buy", "3", "--price", "0.25")
    assert bid["status"] == "resting"
    shown = run(capsys, server, trader, "markets", "show", mid)
    assert shown["market"]["type"] == "scalar" and shown["market"]["scalar"]["units"] == "ships"
    assert shown["quote"]["prices"] == ["0.5", "0.5"]
    assert shown["quote"]["implied_value"] == "1000"  # LONG at 0.5 of 0..2000
    [level] = shown["book"]["bids"]
    assert (level["price"], level["implied_value"]) == ("0.25", "500")

    base = ["--url", server.base_url, "--api-key", trader]
    assert main(["markets", "show", mid, *base]) == 0
    out = capsys.readouterr().out
    assert "scalar market, range 0 .. 2000 ships, step 1" in out
    assert "maker prices 0.5 (implies 1000 ships), 0.5" in out
    assert "bids 3@0.25 (implies 500 ships)" in out
    assert main(["markets", "list", "--category", category, *base]) == 0
    line = capsys.readouterr().out.strip()
    assert " scalar " in line and line.endswith(
        "How many ships in March?  [0 .. 2000 ships, step 1]"
    )
    binary = run(capsys, server, admin, "markets", "create", "Yes or no?", "--close-time", CLOSE,
                 "--category", category)  # fmt: skip
    assert binary["type"] == "binary" and binary["scalar"] is None
    assert main(["markets", "show", binary["id"], *base]) == 0
    out = capsys.readouterr().out
    assert "  binary market\n" in out and "implies" not in out
    message = fail(capsys, ["markets", "create", "Bad?", "--close-time", CLOSE,
                            "--scalar", "0:2000", *base])  # fmt: skip
    assert "LOW:HIGH:STEP:UNITS" in message


def test_human_output(
    server: Server, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--url", server.base_url, "--api-key", keys["trader"]]
    assert main(["portfolio", *base]) == 0
    assert keys["name"] in capsys.readouterr().out
    assert main(["markets", "list", "--limit", "2", *base]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["order", "list", *base]) == 0
    assert capsys.readouterr().out.strip()


def test_env_settings(
    server: Server, keys: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AUGURY_URL", server.base_url)
    monkeypatch.setenv("AUGURY_API_KEY", keys["trader"])
    assert main(["portfolio", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["balances"]["account"] == keys["name"]


def test_errors_are_one_line(
    server: Server, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--url", server.base_url]
    trader = [*url, "--api-key", keys["trader"]]
    create = ["markets", "create", "Errors?", "--close-time", CLOSE, "--json"]
    mid = json.loads(_out(capsys, [*create, *url, "--api-key", keys["admin"]]))["id"]
    line = fail(capsys, ["order", "place", mid, "buy", "100000", "--price", "0.5", *trader])
    assert line.startswith("augury order place: error: insufficient_funds: ")
    line = fail(capsys, ["markets", "show", "no-such-market", *url])
    assert "unknown_market" in line
    line = fail(capsys, ["markets", "create", "Mine?", "--close-time", CLOSE, *trader])
    assert "forbidden" in line
    line = fail(capsys, ["portfolio", *url])
    assert "unauthorized" in line
    line = fail(capsys, ["clock", "advance", "6 hours", *trader])
    assert "not a duration" in line
    line = fail(capsys, ["order", "cancel", *trader])
    assert "give an ORDER_ID or --all" in line
    line = fail(capsys, ["order", "place", mid, "hold", "1", *trader])
    assert "SIDE must be buy or sell" in line
    line = fail(capsys, ["portfolio", "--url", "http://127.0.0.1:9"])
    assert "connection_failed" in line
    assert main(["portfolio", "--url", "http://127.0.0.1:9", "--json"]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False


def _out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_durations() -> None:
    assert [parse_duration(d) for d in ("30m", "6h", "2d", "1h30m", "45s", "1w")] == [
        1_800, 21_600, 172_800, 5_400, 45, 604_800,
    ]  # fmt: skip
    for bad in ("", "6", "h", "6x", "-1h", "1h 30m"):
        with pytest.raises(Exception, match="not a duration"):
            parse_duration(bad)


def test_help_lists_the_api_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("markets", "order", "portfolio", "clock"):
        assert command in out
    assert main(["order", "place", "--help"]) == 0
    assert "--price" in capsys.readouterr().out
