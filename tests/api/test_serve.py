"""``augury serve``: health, OpenAPI, first start, restart, simulated time, production mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from augury.cli import EXIT_ERROR, main
from tests.api.conftest import START, Server, assert_clean_exit, assert_problem, start_server
from tests.api.helpers import create_market, place


def test_health_openapi_and_docs(server: Server) -> None:
    health = server.client().get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["clock"] == "simulated"
    spec = httpx.get(server.base_url + "/openapi.json").json()
    assert spec["info"]["title"] == "Augury"
    for path in ("/api/v1/orders", "/api/v1/markets/{market}/book", "/api/v1/orders/preview"):
        assert path in spec["paths"]
    assert "Problem" in spec["components"]["schemas"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["session"]["in"] == "cookie" and schemes["bearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, (method, path)
            if code_has_body := [c for c in success if c != "204"]:
                content = responses[code_has_body[0]]["content"]
                if "application/json" not in content:  # raw evidence bytes, by design
                    assert list(content) == ["application/octet-stream"], (method, path)
                    assert path == "/api/v1/evidence/{sha256}"
                    continue
                body = content["application/json"]["schema"]
                assert "$ref" in body, (method, path)  # a typed response
            problem = responses["422"]["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}
    docs = httpx.get(server.base_url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert health.headers["x-content-type-options"] == "nosniff"


def test_first_start_restart_and_system_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    first = start_server(data)
    try:
        # a second server on the same journal is refused in one line
        assert main(["serve", "--data-dir", str(data), "--port", "1"]) == EXIT_ERROR
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "JournalLocked" in err[0] and "locked for writing" in err[0]
        assert "username: admin" in first.output() and first.admin_password
        assert (data / "journal.db").is_file() and (data / "projections.db").is_file()
        assert (data / "operator.key").is_file()
        admin = first.admin()
        mid = create_market(admin, close_time="2099-01-01T00:00:00Z")["id"]
        username, trader = first.user("rs")
        order = place(trader, market=mid, side="buy", price="0.25", qty="4")
        head = first.client().get("/health").json()["journal_head"]
        # the system clock cannot be moved
        assert_problem(admin.post("/admin/clock", json={"seconds": 60}), 409, "clock_not_simulated")
    finally:
        assert_clean_exit(first)

    second = start_server(data)
    try:
        assert "password:" not in second.output()  # the admin is created once only
        assert second.client().get("/health").json()["journal_head"] == head
        trader = second.login(username)
        assert trader.get("/portfolio/balances").json()["escrow"] == "1"
        assert trader.get(f"/orders/{order['id']}").json()["status"] == "resting"
        assert second.login("admin", first.admin_password).get("/auth/me").status_code == 200
    finally:
        assert_clean_exit(second)


@pytest.fixture(scope="module")
def sim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("sim") / "data", "--clock", "simulated", "--start", START
    )
    yield running
    assert_clean_exit(running)


def test_simulated_clock_runs_timers(sim_server: Server) -> None:
    admin = sim_server.admin()
    mid = create_market(admin, close_time="2025-11-20T00:00:00Z")["id"]
    _, trader = sim_server.user("sim")
    gtd = place(trader, market=mid, side="buy", price="0.1", qty="1", tif="gtd",
                expires_at="2025-11-15T00:00:00Z")  # fmt: skip
    moved = admin.post("/admin/clock", json={"to": "2025-11-15T00:00:00Z"})
    assert moved.status_code == 200 and moved.json()["time"] == "2025-11-15T00:00:00Z"
    assert trader.get(f"/orders/{gtd['id']}").json()["status"] == "expired"
    assert sim_server.client().get("/health").json()["time"] == "2025-11-15T00:00:00Z"

    resting = place(trader, market=mid, side="buy", price="0.1", qty="1")
    assert admin.post("/admin/clock", json={"seconds": 6 * 86_400}).status_code == 200
    assert admin.get(f"/markets/{mid}").json()["status"] == "closed"
    assert trader.get(f"/orders/{resting['id']}").json()["status"] == "market_closed"
    order = {"market": mid, "side": "buy", "price": "0.1", "qty": "1"}
    assert_problem(trader.post("/orders", json=order), 409, "market_closed")
    assert_problem(
        admin.post("/admin/clock", json={"to": "2025-11-14T00:00:00Z"}), 409, "time_went_backwards"
    )
    assert_problem(admin.post("/admin/clock", json={"seconds": 1, "to": START}), 422,
                   "validation_error")  # fmt: skip
    assert_problem(
        admin.post("/markets", json={"question": "q?", "close_time": "2025-11-01T00:00:00Z"}),
        422,
        "close_time_passed",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "production"], "AUGURY_SECRET_KEY"),
        (["--clock", "simulated"], "needs a start instant"),
        (["--clock", "simulated", "--start", "yesterday"], "not an RFC 3339 instant"),
        (["--start", START], "only for the simulated clock"),
        (["--clock", "sundial"], "clock"),
        (["--port", "0"], "port"),
    ],
)
def test_serve_refuses_bad_settings(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), *argv]) == EXIT_ERROR
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0]
    assert not (tmp_path / "journal.db").exists()


def test_production_refuses_the_simulated_clock(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUGURY_SECRET_KEY", "s" * 40)
    argv = ["serve", "--data-dir", str(tmp_path), "--mode", "production", "--clock", "simulated"]
    assert main([*argv, "--start", START]) == EXIT_ERROR
    assert "production mode refuses the simulated clock" in capsys.readouterr().err
