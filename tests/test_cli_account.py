"""The CLI on its own: register, login, whoami, keys, logout against a real server.

No SDK call sets anything up: every step is an ``augury`` command run in-process through
``main(argv)`` (the password on stdin with ``--password-stdin``), the stored key lives in
a temporary config directory, and every claim is checked against the server.
"""

from __future__ import annotations

import io
import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from augury.cli import EXIT_ERROR, credentials, main
from augury.cli.serve import banner
from augury.domain import views
from tests.api.conftest import PASSWORD, Server, server
from tests.client.conftest import CLOSE, unique

__all__ = ["server"]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("AUGURY_CONFIG_DIR", str(folder))
    monkeypatch.delenv("AUGURY_API_KEY", raising=False)
    return folder


def cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
    code: int = 0,
) -> dict[str, Any]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    got = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert got == code, captured
    assert "Traceback" not in captured.err
    found: dict[str, Any] = json.loads(captured.out.strip().splitlines()[-1])
    return found


def micros(amount: str) -> int:
    return int(Decimal(amount) * 1_000_000)


def _me(server: Server, key: str) -> httpx.Response:
    return server.client().get("/auth/me", headers={"X-API-Key": key})


def test_register_login_whoami_trade_logout(
    server: Server,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, name = server.base_url, unique("clia")
    registered = cli(
        capsys, monkeypatch, "register", "--username", name, "--password-stdin", "--url", url,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert registered["username"] == name and registered["login"]["scopes"] == ["read", "trade"]
    file = config / "credentials.json"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    stored = credentials.load(url)
    assert stored is not None and stored.username == name
    assert stored.key.startswith("aug_") and stored.key not in json.dumps(registered)
    assert _me(server, stored.key).json()["username"] == name

    # every API command now uses the stored key, with no --api-key
    me = cli(capsys, monkeypatch, "whoami", "--url", url)
    assert me["username"] == name and me["authenticated_by"] == "api_key"
    assert me["key_from"] == str(file)

    # logging in again replaces the key: the old one is revoked, one key per machine
    again = cli(
        capsys, monkeypatch, "login", "-u", name, "--password-stdin", "--url", url,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert again["replaced_key_id"] == stored.key_id
    assert _me(server, stored.key).status_code == 401
    new = credentials.load(url)
    assert new is not None and new.key != stored.key
    assert _me(server, new.key).status_code == 200

    # logout revokes the key on the server, then forgets it here
    out = cli(capsys, monkeypatch, "logout", "--url", url)
    assert out == {
        "ok": True, "url": credentials.server_key(url), "was_logged_in": True,
        "revoked_key_id": new.key_id, "error": None,
    }  # fmt: skip
    assert _me(server, new.key).status_code == 401
    assert credentials.load(url) is None
    assert cli(capsys, monkeypatch, "logout", "--url", url)["was_logged_in"] is False
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["whoami", "--url", url]) == EXIT_ERROR
    assert "run augury login" in capsys.readouterr().err


def test_order_place_says_fills_fees_and_rest(
    server: Server,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, name = server.base_url, unique("clio")
    admin = server.login("admin", server.admin_password)
    market = unique("cli-fee-")
    created = admin.post(
        "/markets",
        json={"id": market, "question": "Fees?", "close_time": CLOSE, "liquidity": "50",
              "fee_bps": 200},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    cli(
        capsys, monkeypatch, "register", "-u", name, "--password-stdin", "--url", url,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    # a buy limit above the maker's price: part fills from the maker, none rests (IOC)
    placed = cli(
        capsys, monkeypatch, "order", "place", market, "buy", "5", "--price", "0.6",
        "--url", url,
    )  # fmt: skip
    fills = placed["fills"]
    assert fills and all(f["venue"] == "maker" for f in fills)
    assert sum(micros(f["qty"]) for f in fills) == micros(placed["filled"])
    fee_total = sum(micros(f["fee"]) for f in fills)
    assert fee_total == micros(placed["fees"]) and fee_total > 0
    value, filled = micros(placed["value"]), micros(placed["filled"])
    assert micros(placed["average_price"]) == views.average_price(value, filled)
    # the human line says the average, the fees and what rests
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["order", "place", market, "buy", "2", "--price", "0.01", "--url", url]) == 0
    line = capsys.readouterr().out
    assert "nothing filled" in line and "2 resting at 0.01" in line, line
    assert main(["order", "place", market, "buy", "1", "--url", url]) == 0
    line = capsys.readouterr().out
    assert "filled 1 at average" in line and "fees" in line, line


def test_keys_create_list_revoke_with_the_password(
    server: Server,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, name = server.base_url, unique("clik")
    cli(
        capsys, monkeypatch, "register", "-u", name, "--password-stdin", "--no-login",
        "--url", url, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert credentials.load(url) is None  # --no-login stores nothing
    made = cli(
        capsys, monkeypatch, "keys", "create", "bot", "--scope", "read", "-u", name,
        "--password-stdin", "--url", url, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made["scopes"] == ["read"] and _me(server, made["key"]).status_code == 200
    listed = cli(
        capsys, monkeypatch, "keys", "list", "-u", name, "--password-stdin", "--url", url,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert [k["id"] for k in listed["items"]] == [made["id"]]
    assert "key" not in listed["items"][0]
    cli(
        capsys, monkeypatch, "keys", "revoke", made["id"], "-u", name, "--password-stdin",
        "--url", url, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert _me(server, made["key"]).status_code == 401
    # a wrong password changes nothing and says so in one line
    monkeypatch.setattr("sys.stdin", io.StringIO("not the password at all\n"))
    assert main(["keys", "list", "-u", name, "--password-stdin", "--url", url]) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid_credentials" in err[0], err


def test_a_key_revokes_only_itself(server: Server) -> None:
    """Without the admin scope a key may revoke itself (logout), never a sibling."""
    _name, session = server.user("clis")
    keys = [
        session.post("/auth/api-keys", json={"name": n, "scopes": ["read", "trade"]}).json()
        for n in ("a", "b")
    ]
    first, second = keys
    client = server.client()
    denied = client.delete(f"/auth/api-keys/{second['id']}", headers={"X-API-Key": first["key"]})
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert _me(server, second["key"]).status_code == 200
    own = client.delete(f"/auth/api-keys/{first['id']}", headers={"X-API-Key": first["key"]})
    assert own.status_code == 204
    assert _me(server, first["key"]).status_code == 401


def test_an_unsafe_credentials_file_is_refused(
    server: Server,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credentials.save(credentials.Stored(server.base_url, "x", "aug_x", "k1", "aug_x", ("read",)))
    file = config / "credentials.json"
    os.chmod(file, 0o644)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["whoami", "--url", server.base_url]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "can be read by other users" in err and "chmod 600" in err
    # a key given by flag (or AUGURY_API_KEY) wins: the file is not read at all
    assert main(["whoami", "--url", server.base_url, "--api-key", "aug_bad"]) == EXIT_ERROR
    assert "unauthorized" in capsys.readouterr().err


def test_the_banner_says_how_to_log_in() -> None:
    assert "augury login --username NAME" in banner("127.0.0.1", 8000)
    text = banner("0.0.0.0", 9000)
    assert "augury login --url http://0.0.0.0:9000 --username NAME" in text
    assert "http://[::1]:8000" in banner("::1", 8000)


def test_missing_username_without_a_terminal_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["login", "--url", "http://127.0.0.1:1"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["augury login: error: give --username (stdin is not a terminal to ask on)"]
    assert main(["login", "-u", "x", "--scope", "root", "--url", "http://127.0.0.1:1"]) == 2
    assert "--scope must be read, trade or admin" in capsys.readouterr().err


def test_keys_create_with_a_public_key(
    server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--public-key FILE`` attaches a key for Kalshi-style signed requests."""
    from tests.api.kalshi.conftest import Trader, ed25519_pair
    from tests.api.kalshi.test_auth import signed_headers

    url, name = server.base_url, unique("clipk")
    cli(
        capsys, monkeypatch, "register", "-u", name, "--password-stdin", "--no-login",
        "--url", url, stdin=PASSWORD + "\n",
    )  # fmt: skip
    private_pem, public_pem = ed25519_pair()
    pem = tmp_path / "kalshi.pub"
    pem.write_text(public_pem)
    made = cli(
        capsys, monkeypatch, "keys", "create", "bot", "--scope", "read", "--public-key",
        str(pem), "-u", name, "--password-stdin", "--url", url, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made["key_type"] == "ed25519"
    path = "/trade-api/v2/portfolio/balance"
    headers = signed_headers(Trader(name, httpx.Client(), made["id"], private_pem), "GET", path)
    assert httpx.get(url + path, headers=headers).status_code == 200
