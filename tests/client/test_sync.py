"""The sync client against a real server: every endpoint, typed answers and errors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.client import (
    Client,
    Conflict,
    Forbidden,
    Market,
    NotFound,
    Placement,
    RateLimited,
    Rejected,
    ScalarRange,
    Subscription,
    TransportError,
    Unauthorized,
    ValidationError,
    WsMessage,
)
from augury.client._base import ENDPOINTS, instant
from tests.api.conftest import PASSWORD, Server, assert_clean_exit, start_server
from tests.client.conftest import (
    CLOSE,
    HOUR_S,
    NOTARY_OWNER,
    WIRE_OWNER,
    Connect,
    close_soon,
    resolution_spec,
    sign,
    trader,
    unique,
)


def test_the_endpoint_table_is_the_openapi_document(server: Server) -> None:
    document = httpx.get(server.base_url + "/openapi.json").json()
    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path.removeprefix("/api/v1")))
        for path, operations in document["paths"].items()
        for method in operations
    }
    covered = {(e.method, re.sub(r"\{[^}]+\}", "{}", e.path)) for e in ENDPOINTS.values()}
    assert covered == served


def test_idempotency_keys_are_sent_where_the_document_accepts_them(server: Server) -> None:
    document = httpx.get(server.base_url + "/openapi.json").json()
    keyed = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path.removeprefix("/api/v1")))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", ()))
    }
    idempotent = {
        (e.method, re.sub(r"\{[^}]+\}", "{}", e.path)) for e in ENDPOINTS.values() if e.idempotent
    }
    assert idempotent == keyed


def test_every_endpoint(backend: Server, admin: Client, connect: Connect, called: set[str]) -> None:
    anon = connect()
    assert anon.health().status == "ok"
    assert anon.journal().signature_algorithm == "ed25519"
    ledger = anon.ledger()
    assert ledger.conserved and ledger.credits_minted >= ledger.balances >= 0

    alice_name = unique("sa")
    assert anon.register(alice_name, PASSWORD).roles == ["trader"]
    session = connect()
    assert session.login(alice_name, PASSWORD).user.username == alice_name
    created = session.create_api_key("bot", ["read", "trade"])
    assert created.key.startswith("aug_") and created.scopes == ["read", "trade"]
    assert [k.id for k in session.list_api_keys()] == [created.id]
    alice = connect(api_key=created.key)
    me = alice.me()
    assert (me.username, me.authenticated_by) == (alice_name, "api_key")
    bob_name, bob = trader(connect, "sb")

    market = admin.create_market("Will the SDK work?", CLOSE, category=unique("cat"))
    mid = market.id
    assert isinstance(market, Market) and market.tick_size == Decimal("0.001")
    assert admin.get_market(mid).question == "Will the SDK work?"
    assert [m.id for m in anon.list_markets(category=market.category).items] == [mid]

    assert alice.mint(mid, "10").minted == Decimal(10)
    ask = alice.place_order(mid, "sell", qty=4, price=Decimal("0.6"))
    assert isinstance(ask, Placement) and ask.status == "resting"
    preview = bob.preview_order(mid, "buy", qty="2")
    assert (preview.filled_qty, preview.average_price) == (Decimal(2), Decimal("0.6"))
    bought = bob.place_order(mid, "buy", qty="2", price="0.6")
    assert bought.filled == Decimal(2) and bought.status == "filled"

    book = anon.book(mid)
    assert [(lv.price, lv.qty, lv.orders) for lv in book.asks] == [(Decimal("0.6"), Decimal(2), 1)]
    assert anon.quote(mid).prices is None  # no maker
    assert [t.qty for t in anon.trades(mid).items] == [Decimal(2)]
    assert len(list(anon.iter_trades(mid))) == 1
    assert sum(c.volume for c in anon.candles(mid, interval="1m").items) == Decimal(2)

    assert [o.id for o in alice.list_orders(market=mid).items] == [ask.id]
    assert alice.get_order(ask.id).filled == Decimal(2)
    assert [o.id for o in alice.iter_orders(status="open")] == [ask.id]
    assert alice.balances().total == Decimal(1000 - 10) + Decimal("1.2")
    held = {(p.outcome, p.token): p for p in alice.positions()}
    assert held[0, "yes"].qty == Decimal(6) and held[0, "yes"].escrowed == Decimal(2)
    assert [f.role for f in alice.fills().items] == ["maker"]
    assert [f.order_id for f in bob.iter_fills(market=mid)] == [bought.id]
    notices(alice, bob, bought.id)

    reduced = alice.amend_order(ask.id, price="0.6", qty="1")  # 2 left: 1 in place
    assert not reduced.replaced and reduced.order is not None and reduced.placement is None
    assert (reduced.order.id, reduced.order.remaining) == (ask.id, Decimal(1))
    moved = alice.amend_order(ask.id, price="0.7", qty="1")  # a new price: replaced
    assert moved.replaced and moved.placement is not None and moved.previous_id == ask.id
    assert alice.get_order(ask.id).status == "replaced"
    ask = moved.placement
    cancelled = alice.cancel_order(ask.id)
    assert (cancelled.status, cancelled.released) == ("cancelled", Decimal(1))
    other = alice.place_order(mid, "sell", qty="1", price="0.9")
    assert alice.cancel_all(mid).cancelled == [other.id]
    assert alice.redeem(mid, "1").redeemed == Decimal(1)
    profit = {p.market: p for p in alice.pnl()}[mid]  # minted 10, sold 2 at 0.6, redeemed 1
    assert (profit.paid, profit.received, profit.status) == (Decimal(10), Decimal("2.2"), "open")
    assert alice.settlements() == [] == list(alice.iter_settlements())  # nothing settled yet

    cat = admin.create_market("Which?", CLOSE, type="categorical", outcomes=["A", "B", "C"])
    alice.mint(cat.id, "2")
    assert alice.convert(cat.id, 0, "1", to_yes=False).to_yes is False
    assert alice.redeem(cat.id, "1", outcome=0).outcome == 0

    assert admin.halt_market(mid, "checking").status == "halted"
    assert admin.resume_market(mid).status == "open"
    assert admin.grant(bob_name, "5", "welcome").amount == Decimal(5)
    assert bob.balances().available == Decimal(1000 + 5) - Decimal("1.2")
    assert "market_creator" in admin.set_roles(bob_name, ["trader", "market_creator"]).roles
    creators = admin.list_users(q=bob_name, role="market_creator").items
    assert [u.username for u in creators] == [bob_name]
    before = anon.health().time
    assert (admin.advance_clock(seconds=60).time - before).total_seconds() == 60
    resolution_and_scoring(admin, anon, connect)

    session.revoke_api_key(created.id)
    with pytest.raises(Unauthorized):
        alice.me()
    session.change_password(PASSWORD, "plum orchard lantern 42")
    assert [n.kind for n in session.me().security_notices] == ["password_changed"]
    session.logout()
    with pytest.raises(Unauthorized):
        session.me()
    assert called == set(ENDPOINTS)


def notices(alice: Client, bob: Client, bought: int) -> None:
    """The notification feed: bob's fill, marking read, muting a kind."""
    page = bob.notifications()
    assert [n.kind for n in page.items] == ["fill"] and page.unread == 1
    assert page.items[0].details["order_id"] == bought and page.items[0].market is not None
    assert [n.id for n in bob.iter_notifications(unread=True, page_size=1)] == [page.items[0].id]
    assert bob.unread_notifications() == 1
    assert bob.mark_notification_read(page.items[0].id) == 0
    with pytest.raises(NotFound):
        alice.mark_notification_read(page.items[0].id)  # not alice's
    assert alice.mark_all_notifications_read() == 0
    assert alice.notification_settings()["fill"] is True
    assert alice.set_notification_settings(["fill"])["fill"] is False
    assert alice.notifications().items == []
    with pytest.raises(ValidationError) as unknown:
        alice.set_notification_settings(["nope"])
    assert unknown.value.code == "validation_error"
    hook = alice.create_webhook("https://hooks.example.org/sdk", kinds=["fill"])
    assert hook.secret is not None and hook.secret.startswith("whsec_")
    mine = alice.create_webhook("https://hooks.example.org/own", secret="a secret of my own!")
    assert mine.secret is None and mine.kinds == []
    assert [w.id for w in alice.list_webhooks()] == [hook.id, mine.id]
    assert alice.webhook_deliveries(hook.id).items == []
    with pytest.raises(ValidationError) as private:
        alice.create_webhook("http://10.0.0.1/x")
    assert private.value.code == "invalid_webhook_url"
    alice.delete_webhook(mine.id)
    with pytest.raises(NotFound):
        alice.delete_webhook(mine.id)
    assert [w.id for w in alice.list_webhooks()] == [hook.id]


def resolution_and_scoring(admin: Client, anon: Client, connect: Connect) -> None:
    """Every resolution and scoring endpoint: a market with a spec, its evidence, a
    proposal, a dispute and the arbiters' votes; an override, a void, alerts, scores."""
    notary = Ed25519PrivateKey.generate()
    close = close_soon(anon.health().time)
    spec = resolution_spec(close, notary)
    carl_name, carl = trader(connect, "rc")
    linted = carl.lint_spec(spec, close, outcomes=["A holds", "B holds"])
    assert linted.acceptable, linted.findings
    close_text = instant(close)
    assert close_text is not None and close_text.endswith("Z")
    bad = carl.lint_spec({**spec, "quorum": 3}, close_text)  # an RFC 3339 string works too
    assert not bad.acceptable and [f.code for f in bad.findings if f.severity == "error"] == [
        "quorum_out_of_range"
    ]
    with pytest.raises(Rejected) as undecodable:
        carl.lint_spec({"sources": "none"}, close)
    assert (undecodable.value.status, undecodable.value.code) == (422, "invalid_spec")

    market = admin.create_market(
        "Who holds the town?", close, outcomes=["A holds", "B holds"], resolution_spec=spec
    )
    mid = market.id
    story = anon.market_resolution(mid)
    assert (story.status, story.spec_version, story.proposal) == ("collecting", 1, None)
    assert story.spec is not None and story.spec["quorum"] == 2
    shorter = {**spec, "challenge_window_hours": 12}
    respecified = admin.set_spec(mid, shorter, "a shorter challenge window")
    assert respecified.spec_version == 2 and respecified.spec_sha256 != story.spec_sha256
    clarified = admin.clarify(mid, "Holding means controlling the town hall.")
    assert clarified.rules_version == 2 and clarified.clarification is not None
    assert clarified.clarification.version == 2
    assert clarified.clarification.text == "Holding means controlling the town hall."
    assert clarified.clarification.prev_sha256 == respecified.spec_sha256
    with pytest.raises(Forbidden):
        carl.clarify(mid, "Mine too?")

    # traders before the close (for the scores); judges without positions
    ann_name, ann = trader(connect, "ra")
    ben_name, ben = trader(connect, "rb")
    ann.place_order(mid, "buy", qty="10", price="0.6")
    assert ben.place_order(mid, "buy", qty="10", price="0.4", token="no").filled == Decimal(10)
    resolver_name, resolver = trader(connect, "rr")
    admin.set_roles(resolver_name, ["trader", "resolver"])
    arbiters = [trader(connect, "rv") for _ in range(3)]
    for name, _ in arbiters:
        admin.set_roles(name, ["trader", "arbiter"])
    (_, arb1), (_, arb2), (arb_x_name, arb_x) = arbiters

    # evidence: the wire cannot be fetched (loopback); the notary attests
    job = resolver.observe_now(mid)
    assert job.status == "done" and resolver.observe_job(job.id) == job
    assert [o.source_id for o in job.observations] == ["wire"]
    observed = anon.observations(mid)
    assert [o.id for o in observed] == [o.id for o in job.observations]
    wire = [o for o in observed if o.source_id == "wire"]
    assert wire and not wire[-1].ok and wire[-1].value is None and wire[-1].error_code
    with pytest.raises(Forbidden):
        carl.observe_now(mid)
    signed_at = instant(anon.health().time)
    assert signed_at is not None
    signature = sign(notary, "notary", signed_at, "A")
    attested = carl.attest(mid, "notary", "A", signed_at, signature)
    assert (attested.source_id, attested.ok, attested.value) == ("notary", True, "A")
    raw = anon.evidence(attested.content_sha256)
    assert hashlib.sha256(raw).hexdigest() == attested.content_sha256
    assert attested.size == len(raw)
    assert anon.observations(mid) == [*observed, attested]
    assert anon.observation(mid, attested.id) == attested
    runs = anon.observation_runs(mid, source="notary", limit=10)
    assert [(r.count, r.first_id, r.last_sha256) for r in runs.items] == [
        (1, attested.id, attested.content_sha256)
    ]
    with pytest.raises(NotFound) as no_evidence:
        anon.evidence("0" * 64)
    assert (no_evidence.value.status, no_evidence.value.code) == (404, "not_found")
    with pytest.raises(Rejected) as no_source:
        carl.attest(mid, "wire", "A", signed_at, signature)
    assert no_source.value.code == "unknown_source"

    # affiliations: declared by the account itself, or linked by an admin
    declared = arb_x.declare_affiliation(NOTARY_OWNER)
    assert (declared.account, declared.organizations) == (arb_x_name, [NOTARY_OWNER])
    linked = admin.link_affiliation(carl_name, WIRE_OWNER)
    assert (linked.account, linked.organizations) == (carl_name, [WIRE_OWNER])
    assert admin.link_affiliation(carl_name, WIRE_OWNER, affiliated=False).organizations == []

    # a proposal, a dispute, the arbiters
    with pytest.raises(Conflict) as early:
        resolver.propose(mid, 1, "10")
    assert early.value.code == "market_not_closed"
    admin.advance_clock(seconds=2 * HOUR_S + 60)
    with pytest.raises(Conflict) as too_early:  # closed, but T + the 12 h window is ahead
        resolver.propose(mid, 1, "10")
    assert too_early.value.code == "resolution_too_early"
    admin.advance_clock(seconds=12 * HOUR_S)
    with pytest.raises(Forbidden) as not_resolver:
        carl.propose(mid, 1, "10")
    assert not_resolver.value.code == "forbidden"
    with pytest.raises(Rejected) as small:
        resolver.propose(mid, 1, "1")
    assert small.value.code == "bond_too_small"
    proposed = resolver.propose(mid, 1, Decimal("10"), "the wire says B")
    assert proposed.status == "proposed" and proposed.proposal is not None
    assert (proposed.proposal.proposer, proposed.proposal.bond) == (resolver_name, Decimal(10))
    with pytest.raises(Conflict) as twice:
        resolver.propose(mid, 1, "10")
    assert twice.value.code == "wrong_resolution_phase"
    disputed = carl.dispute(mid, "10", "the notary says A")
    assert disputed.status == "disputed" and disputed.dispute is not None
    assert disputed.dispute.disputer == carl_name
    with pytest.raises(Forbidden) as conflicted:
        arb_x.vote(mid, 0)
    assert (conflicted.value.status, conflicted.value.code) == (403, "conflict_of_interest")
    voted = arb1.vote(mid, 0, "the notary")
    assert voted.vote is not None and voted.vote.outcome == 0
    with pytest.raises(Conflict) as again:
        arb1.vote(mid, 0)
    assert again.value.code == "already_voted"
    final = arb2.vote(mid, 0)
    assert (final.status, final.market_status) == ("final", "resolved")

    story = anon.market_resolution(mid)
    kinds = [e.kind for e in story.entries]
    for kind in ("spec", "clarification", "observation", "proposal", "dispute", "vote", "final"):
        assert kind in kinds, kinds
    assert [e.seq for e in anon.iter_resolution(mid, page_size=3)] == [e.seq for e in story.entries]
    first = anon.market_resolution(mid, limit=2)
    assert len(first.entries) == 2 and first.next_cursor is not None
    assert anon.get_market(mid).weights == [Decimal(1), Decimal(0)]

    # scores of the resolved market
    score = anon.market_score(mid)
    assert score.weights == [Decimal(1), Decimal(0)] and score.outcomes == ["A holds", "B holds"]
    assert score.brier_close is not None and score.close_probabilities is not None
    assert sum(score.close_probabilities) == Decimal(1)
    assert anon.calibration(buckets=5, samples=10).markets >= 1
    board = anon.leaderboard(by="profit", window="all", limit=200)
    assert (board.by, board.window, board.since) == ("profit", "all", None)
    mine = {e.account: e for e in board.items}
    assert mine[ann_name].profit == Decimal(4) and mine[ben_name].profit == Decimal(-4)
    assert [e.rank for e in board.items] == sorted(e.rank for e in board.items)
    ann_score = anon.trader_score(ann_name, window="30d", buckets=4)
    assert (ann_score.profit, ann_score.markets, ann_score.fills) == (Decimal(4), 1, 1)
    assert ann_score.return_ is not None and ann_score.to_dict()["return"] == str(ann_score.return_)
    assert len(ann_score.calibration) == 4

    # the operator: override, fractional weights, void
    other = admin.create_market("Override?", CLOSE)
    overridden = admin.resolve_market(other.id, "decided by the operator", outcome=1)
    assert (overridden.status, overridden.market_status) == ("final", "resolved")
    assert anon.market_score(other.id).weights == [Decimal(0), Decimal(1)]
    three = admin.create_market("Split?", CLOSE, type="categorical", outcomes=["A", "B", "C"])
    admin.resolve_market(three.id, "a three-way tie", weights=["0.5", "0.25", Decimal("0.25")])
    assert admin.get_market(three.id).weights == [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")]
    doomed = admin.create_market("Void?", CLOSE)
    with pytest.raises(ValidationError):
        admin.resolve_market(doomed.id, "both given", outcome=0, weights=["0.5", "0.5"])
    with pytest.raises(Forbidden):
        carl.void_market(doomed.id, "not mine to void")
    assert admin.void_market(doomed.id, "the question was ambiguous").market_status == "voided"
    with pytest.raises(Conflict) as voided:
        admin.void_market(doomed.id, "once more")
    assert voided.value.code == "market_voided"
    with pytest.raises(Conflict) as unscored:
        anon.market_score(doomed.id)
    assert (unscored.value.status, unscored.value.code) == (409, "market_not_resolved")

    # surveillance alerts (none here)
    assert arb1.alerts(market=mid, severity="high", status="open", limit=10) == []
    assert all(a.id > 0 for a in admin.alerts())
    with pytest.raises(Forbidden):
        carl.alerts()
    with pytest.raises(NotFound) as unknown:
        arb1.review_alert(10**9, "dismiss", "nothing to see")
    assert unknown.value.code == "unknown_alert"


def test_typed_errors(admin: Client, connect: Connect) -> None:
    with pytest.raises(Unauthorized) as bad_key:
        connect(api_key="aug_" + "x" * 40).me()
    assert (bad_key.value.status, bad_key.value.code) == (401, "unauthorized")
    with pytest.raises(Unauthorized) as wrong:
        connect().login("admin", "not the password")
    assert wrong.value.code == "invalid_credentials"

    name, carol = trader(connect, "se")
    with pytest.raises(Forbidden) as forbidden:
        carol.create_market("May I?", CLOSE)
    assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
    with pytest.raises(NotFound) as missing:
        carol.get_market("no-such-market")
    assert (missing.value.status, missing.value.code) == (404, "unknown_market")
    with pytest.raises(NotFound):
        carol.get_order(987654321)
    with pytest.raises(Conflict) as taken:
        connect().register(name, PASSWORD)
    assert (taken.value.status, taken.value.code) == (409, "username_taken")

    mid = admin.create_market("Errors?", CLOSE).id
    with pytest.raises(ValidationError) as invalid:
        carol.place_order(mid, "buy", qty="1", price="abc")
    assert invalid.value.code == "validation_error" and invalid.value.errors
    with pytest.raises(Rejected) as refused:
        carol.place_order(mid, "buy", qty="100000", price="0.5")
    assert (refused.value.status, refused.value.code) == (422, "insufficient_funds")
    assert "insufficient_funds" in str(refused.value)
    with pytest.raises(Rejected) as off_tick:
        carol.place_order(mid, "buy", qty="1", price="0.0005")
    assert off_tick.value.code in ("price_not_on_tick", "price_out_of_range")

    admin.halt_market(mid)
    with pytest.raises(Conflict) as halted:
        carol.place_order(mid, "buy", qty="1", price="0.5")
    assert halted.value.code == "market_halted"
    admin.resume_market(mid)

    with pytest.raises(TypeError):
        carol.place_order(mid, "buy", qty=1.5, price="0.5")  # type: ignore[arg-type]
    with pytest.raises(TransportError) as down:
        connect(base_url="http://127.0.0.1:9").health()
    assert down.value.status == 0


def test_idempotency_keys(admin: Client, connect: Connect) -> None:
    mid = admin.create_market("Retry?", CLOSE).id
    _, dave = trader(connect, "sd")
    first = dave.place_order(mid, "buy", qty="1", price="0.2", idempotency_key="k-1")
    again = dave.place_order(mid, "buy", qty="1", price="0.2", idempotency_key="k-1")
    assert again == first
    with pytest.raises(ValidationError) as reused:
        dave.place_order(mid, "buy", qty="2", price="0.2", idempotency_key="k-1")
    assert reused.value.code == "idempotency_key_reused"
    # without a key, each call gets a fresh one: two orders
    auto = [dave.place_order(mid, "buy", qty="1", price="0.2").id for _ in range(2)]
    assert len(set(auto)) == 2 and first.id not in auto
    with pytest.raises(TypeError):
        dave._req("me", idempotency_key="x")


def test_pagination(admin: Client, connect: Connect) -> None:
    category = unique("page")
    ids = [admin.create_market(f"Page {i}?", CLOSE, category=category).id for i in range(5)]
    first = admin.list_markets(category=category, sort="oldest", limit=2)
    assert [m.id for m in first.items] == ids[:2] and first.next_cursor
    second = admin.list_markets(category=category, sort="oldest", limit=2, cursor=first.next_cursor)
    assert [m.id for m in second.items] == ids[2:4]
    walked = [m.id for m in admin.iter_markets(category=category, sort="oldest", page_size=2)]
    assert walked == ids
    _, erin = trader(connect, "sp")
    mid = ids[0]
    placed = [erin.place_order(mid, "buy", qty="1", price=f"0.{i + 1}").id for i in range(5)]
    assert [o.id for o in erin.iter_orders(market=mid, page_size=2)] == placed[::-1]


def test_subscription_snapshot_deltas_and_gap(admin: Client, connect: Connect) -> None:
    mid = admin.create_market("Live?", CLOSE).id
    _, fay = trader(connect, "sw")
    keyed = connect(api_key=fay.create_api_key("ws", ["read", "trade"]).key)
    book_channel = f"book:{mid}"
    with keyed.subscribe([book_channel, "orders"], timeout=10) as sub:
        got = [sub.recv(), sub.recv()]
        assert [(m.type, m.seq) for m in got] == [("subscribed", 0), ("subscribed", 0)]
        book = next(m for m in got if m.channel == book_channel)
        assert book.snapshot is not None and book.snapshot["bids"] == []
        order_id = keyed.place_order(mid, "buy", qty="2", price="0.3").id
        seen = [sub.recv() for _ in range(3)]  # the delta, accepted, rested
        delta = next(m for m in seen if m.channel == book_channel)
        assert (delta.type, delta.seq) == ("book_delta", 1)
        assert delta.data["bids"] == [{"price": "0.3", "qty": "2", "orders": 1}]
        private = [m for m in seen if m.channel.startswith("orders:")]
        assert [(m.data["event"], m.data["order_id"]) for m in private] == [
            ("accepted", order_id),
            ("rested", order_id),
        ]

        # pretend seq 1 of the book was lost: the next delta (seq 2) is a gap
        sub.tracker.seqs[book_channel] = 0
        keyed.place_order(mid, "buy", qty="1", price="0.2")
        fresh = _next_of(sub, book_channel)
        assert (fresh.type, sub.gaps) == ("subscribed", 1)
        assert fresh.snapshot is not None and len(fresh.snapshot["bids"]) == 2
        keyed.cancel_order(order_id)
        after = _next_of(sub, book_channel)
        assert (after.type, after.seq) == ("book_delta", fresh.seq + 1)


def _next_of(sub: Subscription, channel: str) -> WsMessage:
    for _ in range(20):
        message = sub.recv()
        if message.channel == channel:
            return message
    raise AssertionError(f"nothing on {channel}")


def test_subscribe_errors(connect: Connect) -> None:
    anon = connect()
    with pytest.raises(NotFound), anon.subscribe(["book:no-such-market"], timeout=10) as sub:
        sub.recv()
    with pytest.raises(Unauthorized), anon.subscribe(["orders"], timeout=10) as sub:
        sub.recv()
    with pytest.raises(Unauthorized):
        connect(api_key="aug_" + "y" * 40).subscribe(["orders"]).__enter__()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own with a tiny API-key bucket (2 requests, then 1 per 100 s)."""
    env = {"AUGURY_RATE_LIMIT_KEY_PER_S": "0.01", "AUGURY_RATE_LIMIT_KEY_BURST": "2"}
    running = start_server(tmp_path_factory.mktemp("limited") / "data", env=env)
    yield running
    assert_clean_exit(running)


def test_rate_limited(limited: Server) -> None:
    with Client(limited.base_url) as session:
        session.register("ratey", PASSWORD)
        session.login("ratey", PASSWORD)
        key = session.create_api_key("fast").key
    with Client(limited.base_url, api_key=key) as client:
        client.me()
        client.me()
        with pytest.raises(RateLimited) as caught:
            client.me()
    assert (caught.value.status, caught.value.code) == (429, "rate_limited")
    assert caught.value.retry_after is not None and caught.value.retry_after >= 1


def test_scalar_markets(admin: Client, connect: Connect) -> None:
    """A scalar market through the SDK: its type, range and implied value, and an
    operator's resolution to a value."""
    ships = ScalarRange(low=0, high=2000, step=1, units="ships")
    market = admin.create_market(
        "How many ships transit the strait?", CLOSE, type="scalar", scalar=ships, liquidity="50"
    )
    assert (market.type, market.outcomes) == ("scalar", ["LONG", "SHORT"])
    assert market.scalar is not None and market.scalar.units == "ships"
    assert (market.scalar.low, market.scalar.high) == (Decimal(0), Decimal(2000))
    assert admin.quote(market.id).implied_value == Decimal(1000)
    _, bob = trader(connect, "sc")
    bob.place_order(market.id, "buy", qty="2", price="0.25")
    assert bob.book(market.id).bids[0].implied_value == Decimal(500)
    admin.resolve_market(market.id, "port statistics", value="1500")
    resolved = admin.get_market(market.id)
    assert resolved.scalar is not None and resolved.scalar.resolved_value == Decimal(1500)
    assert resolved.weights == [Decimal("0.75"), Decimal("0.25")]
