"""Each account's notification feed as the API serves it: the journal's notices, the
API's own (a login from a new place), what was read, and which kinds are muted.

The ``notifications`` read model (``augury.projections``) holds the notices the
journal implies; the projector writes it and a rebuild recreates it. Everything else
lives in tables of the API's own, in the same database, never touched by the projector
(created on startup, like ``augury.identity.store``'s):

* ``api_notices``: notices the API writes itself (``new_login``);
* ``api_login_places``: the places (a keyed digest of IP and user agent, never the
  address itself) each account has logged in from;
* ``api_notification_marks``: "all read up to" per account (a journal seq and an
  ``api_notices`` id), and ``api_notification_reads`` the single notices marked read
  since;
* ``api_notification_settings``: the kinds an account muted (hidden from its feed,
  its count, its WebSocket channel; its webhooks choose their own kinds).

A notice's id is ``j<seq>.<idx>.<sub>`` (from the journal) or ``a<id>`` (the API's).
The feed is newest first by the record's instant. Every method is synchronous (call it
from a worker thread).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from augury.api.errors import ApiError
from augury.projections import tables as t
from augury.projections.notices import KINDS
from augury.settings import format_instant

NEW_LOGIN = "new_login"
INVALID_NOTIFICATION_ID = "invalid_notification_id"
UNKNOWN_KIND = "unknown_notification_kind"
ID_RE = re.compile(r"j(\d{1,18})\.(\d{1,9})\.(\d{1,9})|a(\d{1,18})")
USER_AGENT_SHOWN = 120
"""Characters of a user agent quoted in a new-login notice."""

metadata = MetaData()

api_notices = Table(
    "api_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(32), nullable=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("market", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON object
)
login_places = Table(
    "api_login_places",
    metadata,
    Column("account", String(32), primary_key=True),
    Column("place", String(64), primary_key=True),  # HMAC of IP and user agent
    Column("first_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),
)
marks = Table(
    "api_notification_marks",
    metadata,
    Column("account", String(32), primary_key=True),
    Column("read_seq", BigInteger, nullable=False),  # journal notices up to it are read
    Column("read_api", BigInteger, nullable=False),  # api_notices ids up to it are read
)
reads = Table(
    "api_notification_reads",
    metadata,
    Column("account", String(32), primary_key=True),
    Column("src", Integer, primary_key=True, autoincrement=False),  # 1 journal, 0 API
    Column("a", BigInteger, primary_key=True, autoincrement=False),  # seq | id
    Column("b", Integer, primary_key=True, autoincrement=False),  # idx | 0
    Column("c", Integer, primary_key=True, autoincrement=False),  # sub | 0
)
muted = Table(
    "api_notification_settings",
    metadata,
    Column("account", String(32), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("enabled", Boolean, nullable=False),
)

Key = tuple[int, int, int, int, int]
"""A notice's place in the feed: (ts_us, src, a, b, c); larger is newer."""


@dataclass(frozen=True, slots=True)
class Item:
    key: Key
    account: str
    kind: str
    market: str
    text: str
    details: dict[str, Any]
    read: bool

    @property
    def id(self) -> str:
        _, src, a, b, c = self.key
        return f"j{a}.{b}.{c}" if src == 1 else f"a{a}"

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "market": self.market or None,
            "text": self.text,
            "details": self.details,
            "created_at": format_instant(self.key[0]),
            "read": self.read,
        }


def parse_id(notice_id: str) -> tuple[int, int, int, int]:
    """(src, a, b, c) of a notice id, or 422 ``invalid_notification_id``."""
    found = ID_RE.fullmatch(notice_id)
    if found is None:
        raise ApiError(422, INVALID_NOTIFICATION_ID, "a notification id is j<n>.<n>.<n> or a<n>")
    if found.group(4) is not None:
        return 0, int(found.group(4)), 0, 0
    return 1, int(found.group(1)), int(found.group(2)), int(found.group(3))


def check_kinds(kinds: list[str] | tuple[str, ...]) -> None:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ApiError(
            422, UNKNOWN_KIND, f"unknown notification kind(s) {unknown}; known: {list(KINDS)}"
        )


def _now_us() -> int:
    return time.time_ns() // 1_000


class NotificationStore:
    """The feeds, read marks, settings and login places in ``engine``'s database."""

    def __init__(self, engine: Engine, secret_key: str) -> None:
        self.engine = engine
        self._secret = secret_key.encode()

    # -- settings ------------------------------------------------------------------------
    def settings(self, account: str) -> dict[str, bool]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(muted.c.kind, muted.c.enabled).where(muted.c.account == account)
            ).all()
        found = {str(kind): bool(enabled) for kind, enabled in rows}
        return {kind: found.get(kind, True) for kind in KINDS}

    def set_muted(self, account: str, kinds: list[str]) -> dict[str, bool]:
        """Hide exactly ``kinds`` from the account's feed (show every other kind)."""
        check_kinds(kinds)
        with self.engine.begin() as conn:
            conn.execute(delete(muted).where(muted.c.account == account))
            for kind in sorted(set(kinds)):
                conn.execute(insert(muted).values(account=account, kind=kind, enabled=False))
        return self.settings(account)

    def muted_kinds(self, account: str) -> list[str]:
        return sorted(kind for kind, on in self.settings(account).items() if not on)

    # -- the feed ------------------------------------------------------------------------
    def _mark(self, account: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(marks.c.read_seq, marks.c.read_api).where(marks.c.account == account)
            ).first()
        return (0, 0) if row is None else (int(row.read_seq), int(row.read_api))

    def _journal_query(
        self, account: str, hidden: list[str], unread_only: bool, mark: tuple[int, int]
    ) -> Any:
        n = t.notifications.c
        was_read = exists().where(
            reads.c.account == account,
            reads.c.src == 1,
            reads.c.a == n.seq,
            reads.c.b == n.idx,
            reads.c.c == n.sub,
        )
        read = or_(n.seq <= mark[0], was_read)
        query = select(
            n.ts_us, n.seq, n.idx, n.sub, n.account, n.kind, n.market, n.text, n.details,
            read.label("is_read"),
        ).where(n.account == account)  # fmt: skip
        return _filtered(query, n.kind, read, hidden, unread_only)

    def _api_query(
        self, account: str, hidden: list[str], unread_only: bool, mark: tuple[int, int]
    ) -> Any:
        a = api_notices.c
        was_read = exists().where(reads.c.account == account, reads.c.src == 0, reads.c.a == a.id)
        read = or_(a.id <= mark[1], was_read)
        query = select(
            a.ts_us, a.id, a.account, a.kind, a.market, a.text, a.details, read.label("is_read")
        ).where(a.account == account)
        return _filtered(query, a.kind, read, hidden, unread_only)

    def page(
        self, account: str, *, unread_only: bool, before: Key | None, limit: int
    ) -> tuple[list[Item], Key | None]:
        """Up to ``limit`` notices older than ``before``, newest first, and the key to
        continue from (None: no more)."""
        hidden, mark = self.muted_kinds(account), self._mark(account)
        n, a = t.notifications.c, api_notices.c
        journal = self._journal_query(account, hidden, unread_only, mark)
        own = self._api_query(account, hidden, unread_only, mark)
        if before is not None:
            bound = tuple_(*(literal(v) for v in before))
            journal = journal.where(tuple_(n.ts_us, literal(1), n.seq, n.idx, n.sub) < bound)
            own = own.where(tuple_(a.ts_us, literal(0), a.id, literal(0), literal(0)) < bound)
        journal = journal.order_by(n.ts_us.desc(), n.seq.desc(), n.idx.desc(), n.sub.desc())
        own = own.order_by(a.ts_us.desc(), a.id.desc())
        with self.engine.connect() as conn:
            items = [_journal_item(r) for r in conn.execute(journal.limit(limit + 1))]
            items += [_api_item(r) for r in conn.execute(own.limit(limit + 1))]
        items.sort(key=lambda item: item.key, reverse=True)
        more = len(items) > limit
        items = items[:limit]
        return items, (items[-1].key if more else None)

    def unread_count(self, account: str) -> int:
        hidden, mark = self.muted_kinds(account), self._mark(account)
        total = 0
        with self.engine.connect() as conn:
            for query in (
                self._journal_query(account, hidden, True, mark),
                self._api_query(account, hidden, True, mark),
            ):
                total += int(
                    conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
                )
        return total

    def newer(self, accounts: list[str], seq: int, api_id: int) -> list[Item]:
        """The notices of ``accounts`` after journal ``seq`` and API id ``api_id``, oldest
        first, muted or not (the WebSocket channels' poll; ``read`` is False)."""
        n, a = t.notifications.c, api_notices.c
        unread = literal(False).label("is_read")
        journal = (
            select(
                n.ts_us, n.seq, n.idx, n.sub, n.account, n.kind, n.market, n.text, n.details, unread
            )
            .where(n.seq > seq, n.account.in_(accounts))
            .order_by(n.seq, n.idx, n.sub)
        )
        own = (
            select(a.ts_us, a.id, a.account, a.kind, a.market, a.text, a.details, unread)
            .where(a.id > api_id, a.account.in_(accounts))
            .order_by(a.id)
        )
        with self.engine.connect() as conn:
            items = [_journal_item(r) for r in conn.execute(journal.limit(10_000))]
            items += [_api_item(r) for r in conn.execute(own.limit(10_000))]
        items.sort(key=lambda item: item.key)
        return items

    def heads(self) -> tuple[int, int]:
        """The newest journal seq and API notice id in any feed (0 if none)."""
        with self.engine.connect() as conn:
            seq = conn.execute(select(func.max(t.notifications.c.seq))).scalar()
            api_id = conn.execute(select(func.max(api_notices.c.id))).scalar()
        return int(seq or 0), int(api_id or 0)

    # -- marking read --------------------------------------------------------------------
    def mark_read(self, account: str, notice_id: str) -> bool:
        """Mark one of the account's notices read; False if it has no such notice."""
        src, a, b, c = parse_id(notice_id)
        with self.engine.begin() as conn:
            if src == 1:
                n = t.notifications.c
                where: ColumnElement[bool] = and_(
                    n.seq == a, n.idx == b, n.sub == c, n.account == account
                )
                found = conn.execute(select(n.seq).where(where)).first()
            else:
                found = conn.execute(
                    select(api_notices.c.id).where(
                        api_notices.c.id == a, api_notices.c.account == account
                    )
                ).first()
            if found is None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(insert(reads).values(account=account, src=src, a=a, b=b, c=c))
            except IntegrityError:
                pass  # read already
        return True

    def mark_all_read(self, account: str) -> None:
        """Everything in the account's feed now is read (later notices are not)."""
        n, a = t.notifications.c, api_notices.c
        with self.engine.begin() as conn:
            seq = conn.execute(select(func.max(n.seq)).where(n.account == account)).scalar()
            api_id = conn.execute(select(func.max(a.id)).where(a.account == account)).scalar()
            values = {"read_seq": int(seq or 0), "read_api": int(api_id or 0)}
            done = conn.execute(update(marks).where(marks.c.account == account).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(marks).values(account=account, **values))
            conn.execute(delete(reads).where(reads.c.account == account))

    # -- logins from a new place ---------------------------------------------------------
    def place_of(self, ip: str, user_agent: str) -> str:
        message = f"place:{ip}\n{user_agent}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def login_seen(self, account: str, ip: str, user_agent: str, now_us: int | None = None) -> bool:
        """Record a login from (``ip``, ``user_agent``); True if it left a ``new_login``
        notice: the account had logged in before, never from that place."""
        now = _now_us() if now_us is None else now_us
        place = self.place_of(ip, user_agent)
        lp = login_places.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(login_places)
                .where(lp.account == account, lp.place == place)
                .values(last_us=now)
            )
            if done.rowcount:
                return False
            known = conn.execute(select(lp.place).where(lp.account == account).limit(1)).first()
            conn.execute(
                insert(login_places).values(account=account, place=place, first_us=now, last_us=now)
            )
            if known is None:
                return False  # the first login of the account: nothing to compare with
            agent = user_agent[:USER_AGENT_SHOWN] or "no user agent"
            text = f"a login to your account from a new place: {ip} ({agent})"
            details = {"ip": ip, "user_agent": user_agent[:USER_AGENT_SHOWN]}
            conn.execute(
                insert(api_notices).values(
                    account=account,
                    ts_us=now,
                    kind=NEW_LOGIN,
                    market="",
                    text=text,
                    details=json.dumps(details, sort_keys=True),
                )
            )
        return True


def store_of(app: Any) -> NotificationStore:
    """The app's store (made by the lifespan; made here for an app whose lifespan did
    not run, as in tests that call it directly)."""
    state = app.state
    found = getattr(state, "notifications", None)
    if found is None:
        services = state.services
        found = state.notifications = NotificationStore(
            services.projector.engine, services.settings.secret_key
        )
    assert isinstance(found, NotificationStore)
    return found


def _filtered(query: Any, kind: Any, read: Any, hidden: list[str], unread_only: bool) -> Any:
    if hidden:
        query = query.where(kind.not_in(hidden))
    if unread_only:
        query = query.where(~read)
    return query


def advance(cursor: tuple[int, int], items: list[Item]) -> tuple[int, int]:
    """The feed position ``cursor`` (journal seq, API id) moved past ``items``."""
    seq = max([cursor[0], *(i.key[2] for i in items if i.key[1] == 1)])
    api_id = max([cursor[1], *(i.key[2] for i in items if i.key[1] == 0)])
    return seq, api_id


def _item(row: Any, key: Key) -> Item:
    details = json.loads(row.details)
    return Item(key, row.account, row.kind, row.market, row.text, details, bool(row.is_read))


def _journal_item(row: Any) -> Item:
    return _item(row, (int(row.ts_us), 1, int(row.seq), int(row.idx), int(row.sub)))


def _api_item(row: Any) -> Item:
    return _item(row, (int(row.ts_us), 0, int(row.id), 0, 0))
