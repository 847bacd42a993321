"""Webhooks per account: where an account's notifications are POSTed, signed, and the
log of every delivery. ``WebhookDeliverer`` (``augury.api.webhook_deliverer``) sends.

Tables of the API's own (created on startup, in the read models' database):

* ``api_webhooks``: the URL, the kinds (empty: every kind), the signing secret
  (sealed with a key derived from the server's secret key, so a copy of the database
  alone does not give it away), and the feed position up to which deliveries were
  queued (a journal seq and an ``api_notices`` id);
* ``api_webhook_deliveries``: one row per notice and webhook: the body (fixed when
  queued), the state (``pending``, ``delivered``, ``failed`` after the last try), the
  tries so far, when the next is due, and who holds it (a claim with a lease);
* ``api_webhook_attempts``: every try, with its HTTP status or error: the log.

Several API nodes may run a deliverer on one database: queueing moves a webhook's
position by compare-and-set (the node whose UPDATE matched the old position inserts the
deliveries, in the same transaction), and a delivery is claimed by a conditional UPDATE
(free or lease expired); only the holder of the claim records the outcome.

Every method is synchronous (call it from a worker thread, not the event loop).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)

from augury.api.errors import ApiError
from augury.api.notifications import Item, NotificationStore, advance, check_kinds
from augury.evidence.fetch import FetchPolicy, address_problem

WEBHOOKS_PER_ACCOUNT_MAX = 10
SIGNATURE_HEADER = "Augury-Signature"
"""``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
DELIVERY_HEADER = "Augury-Delivery"
WEBHOOK_HEADER = "Augury-Webhook"
INVALID_WEBHOOK_URL = "invalid_webhook_url"
TOO_MANY_WEBHOOKS = "too_many_webhooks"
ERROR_SHOWN = 500
"""Characters of an error kept in the log."""

metadata = MetaData()

webhooks = Table(
    "api_webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("kinds", Text, nullable=False),  # comma-separated; "" = every kind
    Column("sealed_secret", Text, nullable=False),  # hex
    Column("created_us", BigInteger, nullable=False),
    Column("cursor_seq", BigInteger, nullable=False),  # queued up to this journal seq
    Column("cursor_api", BigInteger, nullable=False),  # ... and this api_notices id
    Index("ix_api_webhooks_account", "account"),
)
deliveries = Table(
    "api_webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook", String(32), nullable=False),
    Column("notification", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("claim", String(32), nullable=True),
    Column("claimed_until_us", BigInteger, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("delivered_us", BigInteger, nullable=True),
    UniqueConstraint("webhook", "notification", name="uq_api_webhook_deliveries_notice"),
    Index("ix_api_webhook_deliveries_due", "status", "next_attempt_us"),
)
attempts = Table(
    "api_webhook_attempts",
    metadata,
    Column("delivery", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("at_us", BigInteger, nullable=False),
    Column("status", Integer, nullable=True),  # the HTTP status, if any answer came
    Column("error", Text, nullable=False),  # "" when delivered
    Column("duration_us", BigInteger, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    account: str
    url: str
    kinds: tuple[str, ...]
    created_us: int

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this node holds: what to send, where, signed with which secret."""

    id: int
    webhook: str
    url: str
    secret: str
    body: bytes
    attempts: int  # tries before this one
    claim: str


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Augury-Signature`` header of ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now_s: int, tolerance_s: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, within ``tolerance_s`` of now
    (what a receiver checks; docs/api.md shows the same in a few lines)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now_s - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(
        sign(secret, timestamp, body), f"t={timestamp},v1={fields.get('v1', '')}"
    )


def _now_us() -> int:
    return time.time_ns() // 1_000


def check_url(url: str, policy: FetchPolicy) -> None:
    """422 ``invalid_webhook_url`` for a URL the deliverer would never send to: not
    http(s), no host, or a literal address the SSRF guard refuses (a host name is
    checked again at every delivery, after it resolves)."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ApiError(422, INVALID_WEBHOOK_URL, "not a URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ApiError(422, INVALID_WEBHOOK_URL, "a webhook URL is http:// or https:// with a host")
    host = parsed.host.lower().rstrip(".")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    allowed = host in policy.allow_hosts or hostport in policy.allow_hosts
    problem = address_problem(host)
    if not allowed and problem not in (None, "not an IP address"):
        raise ApiError(
            422,
            INVALID_WEBHOOK_URL,
            f"the address {host} is {problem}: webhooks go to public hosts",
        )


class WebhookStore:
    """The webhooks, their deliveries and the log, in ``notifications``' database."""

    def __init__(self, notifications: NotificationStore, secret_key: str) -> None:
        self.notifications = notifications
        self.engine: Engine = notifications.engine
        self._key = hmac.new(secret_key.encode(), b"webhook secrets", hashlib.sha256).digest()

    # -- sealing the signing secrets -------------------------------------------------------
    def _stream(self, webhook_id: str, length: int) -> bytes:
        out = b""
        counter = 0
        while len(out) < length:
            block = f"{webhook_id}:{counter}".encode()
            out += hmac.new(self._key, block, hashlib.sha256).digest()
            counter += 1
        return out[:length]

    def _seal(self, webhook_id: str, secret: str) -> str:
        raw = secret.encode()
        return bytes(
            a ^ b for a, b in zip(raw, self._stream(webhook_id, len(raw)), strict=True)
        ).hex()

    def _unseal(self, webhook_id: str, sealed: str) -> str:
        raw = bytes.fromhex(sealed)
        stream = self._stream(webhook_id, len(raw))
        return bytes(a ^ b for a, b in zip(raw, stream, strict=True)).decode()

    # -- the webhooks --------------------------------------------------------------------
    def create(
        self, account: str, url: str, kinds: tuple[str, ...], secret: str | None
    ) -> tuple[Webhook, str]:
        """A new webhook (it delivers notices from now on) and its secret."""
        check_kinds(kinds)
        secret = secret if secret is not None else "whsec_" + secrets.token_urlsafe(32)
        webhook = Webhook(secrets.token_hex(8), account, url, tuple(sorted(set(kinds))), _now_us())
        seq, api_id = self.notifications.heads()
        with self.engine.begin() as conn:
            count = conn.execute(
                select(func.count()).select_from(webhooks).where(webhooks.c.account == account)
            ).scalar_one()
            if count >= WEBHOOKS_PER_ACCOUNT_MAX:
                raise ApiError(
                    409, TOO_MANY_WEBHOOKS, f"at most {WEBHOOKS_PER_ACCOUNT_MAX} webhooks"
                )
            conn.execute(
                insert(webhooks).values(
                    id=webhook.id,
                    account=account,
                    url=url,
                    kinds=",".join(webhook.kinds),
                    sealed_secret=self._seal(webhook.id, secret),
                    created_us=webhook.created_us,
                    cursor_seq=seq,
                    cursor_api=api_id,
                )
            )
        return webhook, secret

    def of(self, account: str) -> list[Webhook]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(webhooks)
                .where(webhooks.c.account == account)
                .order_by(webhooks.c.created_us, webhooks.c.id)
            ).all()
        return [_webhook(row) for row in rows]

    def get(self, account: str, webhook_id: str) -> Webhook | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account == account)
            ).first()
        return None if row is None else _webhook(row)

    def delete(self, account: str, webhook_id: str) -> bool:
        """Delete one of the account's webhooks with its deliveries and their log."""
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account == account)
            )
            if done.rowcount == 0:
                return False
            ids = select(deliveries.c.id).where(deliveries.c.webhook == webhook_id)
            conn.execute(delete(attempts).where(attempts.c.delivery.in_(ids)))
            conn.execute(delete(deliveries).where(deliveries.c.webhook == webhook_id))
        return True

    # -- the log -------------------------------------------------------------------------
    def deliveries(
        self, webhook_id: str, *, before: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The webhook's deliveries, newest first, each with its tries."""
        d = deliveries.c
        query = select(deliveries).where(d.webhook == webhook_id)
        if before is not None:
            query = query.where(d.id < before)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(d.id.desc()).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [row.id for row in rows]
            tries: dict[int, list[Any]] = {}
            if ids:
                for a in conn.execute(
                    select(attempts).where(attempts.c.delivery.in_(ids)).order_by(attempts.c.n)
                ):
                    tries.setdefault(a.delivery, []).append(a)
        items = [_delivery(row, tries.get(row.id, [])) for row in rows]
        return items, (rows[-1].id if more else None)

    # -- queueing (any node) ---------------------------------------------------------------
    def enqueue(self, now_us: int | None = None) -> int:
        """Queue a delivery of each new notice for each webhook that wants its kind;
        returns how many were queued. Safe with several nodes (compare-and-set)."""
        now = _now_us() if now_us is None else now_us
        with self.engine.connect() as conn:
            rows = conn.execute(select(webhooks)).all()
        queued = 0
        for row in rows:
            queued += self._enqueue_one(row, now)
        return queued

    def _enqueue_one(self, row: Any, now: int) -> int:
        webhook = _webhook(row)
        items = self.notifications.newer([webhook.account], row.cursor_seq, row.cursor_api)
        if not items:
            return 0
        seq, api_id = advance((row.cursor_seq, row.cursor_api), items)
        wanted = [item for item in items if webhook.wants(item.kind)]
        w = webhooks.c
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(webhooks)
                .where(
                    w.id == webhook.id,
                    w.cursor_seq == row.cursor_seq,
                    w.cursor_api == row.cursor_api,
                )
                .values(cursor_seq=seq, cursor_api=api_id)
            )
            if moved.rowcount != 1:
                return 0  # another node queued them (or the webhook is gone)
            for item in wanted:
                conn.execute(
                    insert(deliveries).values(
                        webhook=webhook.id,
                        notification=item.id,
                        kind=item.kind,
                        body=_body(webhook, item),
                        status="pending",
                        attempts=0,
                        next_attempt_us=now,
                        claim=None,
                        claimed_until_us=None,
                        last_status=None,
                        last_error="",
                        created_us=now,
                        delivered_us=None,
                    )
                )
        return len(wanted)

    # -- claiming and recording (any node) -------------------------------------------------
    def claim(self, now_us: int, lease_us: int, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due deliveries for ``lease_us`` (none another node holds)."""
        d = deliveries.c
        due = (
            select(d.id, d.webhook, d.body, d.attempts)
            .where(d.status == "pending", d.next_attempt_us <= now_us)
            .where((d.claimed_until_us.is_(None)) | (d.claimed_until_us < now_us))
            .order_by(d.next_attempt_us, d.id)
            .limit(limit)
        )
        out: list[Claimed] = []
        with self.engine.connect() as conn:
            candidates = conn.execute(due).all()
        for candidate in candidates:
            token = secrets.token_hex(8)
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(deliveries)
                    .where(d.id == candidate.id, d.status == "pending")
                    .where((d.claimed_until_us.is_(None)) | (d.claimed_until_us < now_us))
                    .values(claim=token, claimed_until_us=now_us + lease_us)
                )
                if taken.rowcount != 1:
                    continue  # another node took it first
                hook = conn.execute(
                    select(webhooks.c.url, webhooks.c.sealed_secret).where(
                        webhooks.c.id == candidate.webhook
                    )
                ).first()
            if hook is None:
                continue
            secret = self._unseal(candidate.webhook, hook.sealed_secret)
            out.append(
                Claimed(
                    candidate.id,
                    candidate.webhook,
                    hook.url,
                    secret,
                    candidate.body.encode(),
                    candidate.attempts,
                    token,
                )
            )
        return out

    def record(
        self,
        claimed: Claimed,
        *,
        at_us: int,
        duration_us: int,
        status: int | None,
        error: str,
        next_attempt_us: int | None,
    ) -> bool:
        """Record one try of a claimed delivery: delivered (``error`` ""), retried at
        ``next_attempt_us``, or failed for good (``next_attempt_us`` None). False if the
        claim was lost (its lease ran out and another node took it)."""
        d = deliveries.c
        n = claimed.attempts + 1
        if not error:
            values: dict[str, Any] = {"status": "delivered", "delivered_us": at_us}
        elif next_attempt_us is None:
            values = {"status": "failed"}
        else:
            values = {"next_attempt_us": next_attempt_us}
        values.update(
            attempts=n, last_status=status, last_error=error[:ERROR_SHOWN], claim=None,
            claimed_until_us=None,
        )  # fmt: skip
        with self.engine.begin() as conn:
            done = conn.execute(
                update(deliveries)
                .where(d.id == claimed.id, d.claim == claimed.claim)
                .values(**values)
            )
            if done.rowcount != 1:
                return False
            conn.execute(
                insert(attempts).values(
                    delivery=claimed.id,
                    n=n,
                    at_us=at_us,
                    status=status,
                    error=error[:ERROR_SHOWN],
                    duration_us=duration_us,
                )
            )
        return True


def _webhook(row: Any) -> Webhook:
    kinds = tuple(k for k in str(row.kinds).split(",") if k)
    return Webhook(row.id, row.account, row.url, kinds, int(row.created_us))


def _body(webhook: Webhook, item: Item) -> str:
    view = item.view()
    view.pop("read")
    return json.dumps(
        {"webhook": webhook.id, "account": item.account, "notification": view},
        sort_keys=True,
        separators=(",", ":"),
    )


def _delivery(row: Any, tries: list[Any]) -> dict[str, Any]:
    from augury.settings import format_instant

    def when(us: int | None) -> str | None:
        return None if us is None else format_instant(us)

    return {
        "id": row.id,
        "webhook": row.webhook,
        "notification": row.notification,
        "kind": row.kind,
        "status": row.status,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "next_attempt_at": when(row.next_attempt_us) if row.status == "pending" else None,
        "created_at": format_instant(row.created_us),
        "delivered_at": when(row.delivered_us),
        "log": [
            {
                "at": format_instant(t.at_us),
                "status": t.status,
                "error": t.error,
                "duration_ms": t.duration_us // 1_000,
            }
            for t in tries
        ],
    }
