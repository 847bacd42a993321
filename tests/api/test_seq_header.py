"""``Augury-Seq`` on the answers of writes, ``Augury-Min-Seq`` (header or the browser's
``augury_seq`` cookie) on reads, on one ``augury serve`` process (tests/roles covers
several API nodes)."""

from __future__ import annotations

from .conftest import Server
from .helpers import create_market


def test_a_write_answers_its_seq_and_a_read_may_name_it(server: Server) -> None:
    admin = server.admin()
    created = admin.post(
        "/markets", json={"id": "m-seq-1", "question": "Seq?", "close_time": "2026-06-30T00:00:00Z"}
    )
    assert created.status_code == 201, created.text
    seq = int(created.headers["Augury-Seq"])
    head = server.client().get("/health").json()["journal_head"]
    assert 0 < seq <= head
    read = admin.get("/markets/m-seq-1", headers={"Augury-Min-Seq": str(seq)})
    assert read.status_code == 200 and "Augury-Seq" not in read.headers  # a read wrote nothing


def test_a_refused_write_has_no_seq(server: Server) -> None:
    refused = server.admin().post(
        "/orders", json={"market": "no-such", "side": "buy", "qty": "1", "price": "0.5"}
    )
    assert refused.status_code >= 400 and "Augury-Seq" not in refused.headers


def test_a_seq_not_reached_is_a_503_that_changes_nothing(server: Server) -> None:
    client = server.client()
    before = client.get("/health").json()["journal_head"]
    ahead = client.get("/markets", headers={"Augury-Min-Seq": str(before + 1_000_000)})
    assert ahead.status_code == 503 and ahead.json()["code"] == "replica_behind"
    assert ahead.headers["Retry-After"] == "1"
    assert client.get("/health").json()["journal_head"] == before


def test_malformed_min_seqs_are_ignored(server: Server) -> None:
    client = server.client()
    for value in ("abc", "-1", "0", "1" * 30, "1.5", "+5", "1e3"):
        assert client.get("/markets", headers={"Augury-Min-Seq": value}).status_code == 200


def test_a_browser_gets_the_seq_as_a_cookie_and_sends_it_back(server: Server) -> None:
    admin = server.admin()  # a session cookie: a browser
    market = create_market(admin)
    placed = admin.post(
        "/orders", json={"market": market["id"], "side": "buy", "qty": "1", "price": "0.2"}
    )
    assert placed.status_code == 201, placed.text
    set_cookie = [v for k, v in placed.headers.multi_items() if k == "set-cookie"]
    seq_cookie = next(c for c in set_cookie if c.startswith("augury_seq="))
    assert seq_cookie.startswith(f"augury_seq={placed.headers['Augury-Seq']};")
    assert "HttpOnly" in seq_cookie and "SameSite=Lax" in seq_cookie and "Max-Age=60" in seq_cookie
    # the cookie is honoured as a min seq: one from the future is refused like the header
    admin.cookies.set("augury_seq", "999999999")
    ahead = admin.get("/portfolio/balances")
    assert ahead.status_code == 503 and ahead.json()["code"] == "replica_behind"
    admin.cookies.delete("augury_seq")
    assert admin.get("/portfolio/balances").status_code == 200
