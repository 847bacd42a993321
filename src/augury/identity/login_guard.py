"""Password guessing, per account: exponential backoff after failed logins, and notices.

Each account counts its failed logins in a row, from any IP, in a table of the identity
database (so every server process sees the same count). After ``free_failures`` of
them the account's logins wait: ``base_s`` after that failure, twice as long after the
next, and so on up to ``max_s`` (15 minutes by default). While an account waits, a
login for it is answered 429 (``login_backoff``, with ``Retry-After``) without the
password being checked, so guesses cost the attacker the wait. A successful login
resets the count: the backoff is capped, never a lockout, so an attacker can slow the
owner down but not shut them out for good.

A browser that has logged in to the account before carries a device cookie (signed by
the server, ``augury.identity.store``): its logins are counted apart, as a subject of
their own, so an attacker who keeps the account waiting does not keep its owner out on
the owner's own browser (the "device cookie" defence of the OWASP guidance). A device's
count backs off the same way, so a stolen device cookie buys no free guesses either.

When an account (or one of its devices) starts to wait, its owner gets a notice
(``api_security_notices``), listed in ``GET /auth/me``; a password change leaves one too.

Every method is synchronous (call it from a worker thread, not the event loop).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

NOTICES_SHOWN = 10
"""Notices listed in ``GET /auth/me`` (the newest)."""

metadata = MetaData()

login_failures = Table(
    "api_login_failures",
    metadata,
    # "account:<api_users.id>", or "device:<user id>:<nonce>" for a known browser
    Column("subject", String(100), primary_key=True),
    Column("user_id", Integer, nullable=False),  # api_users.id
    Column("failures", Integer, nullable=False),
    Column("last_failure_us", BigInteger, nullable=False),
    Column("locked_until_us", BigInteger, nullable=False),
)

security_notices = Table(
    "api_security_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),  # api_users.id
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_api_security_notices_user", "user_id", "id"),
)
Index("ix_api_login_failures_user", login_failures.c.user_id)


def account_subject(user_id: int) -> str:
    return f"account:{user_id}"


def device_subject(user_id: int, nonce: str) -> str:
    return f"device:{user_id}:{nonce}"


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    free_failures: int = 5
    base_s: float = 1.0
    max_s: float = 900.0

    def delay_us(self, failures: int) -> int:
        """How long logins wait after the ``failures``-th failure in a row."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, 40)
        return int(min(self.max_s, self.base_s * 2**doublings) * 1_000_000)


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    kind: str
    detail: str
    created_us: int


class LoginGuard:
    """The failure counts and notices of ``engine``'s accounts (``augury.identity.migrate``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def wait_us(self, subject: str, now_us: int) -> int:
        """How long the subject's logins still wait (0: a login may be tried now)."""
        with self.engine.connect() as conn:
            until = conn.execute(
                select(login_failures.c.locked_until_us).where(login_failures.c.subject == subject)
            ).scalar()
        return 0 if until is None else max(0, int(until) - now_us)

    def failed(self, subject: str, user_id: int, now_us: int, policy: BackoffPolicy) -> int:
        """Count a failed login of ``user_id``'s account (or device); the wait it starts."""
        self._ensure_row(subject, user_id)
        where = login_failures.c.subject == subject
        with self.engine.begin() as conn:
            # one UPDATE adds one: atomic across processes (the row is locked meanwhile)
            conn.execute(
                update(login_failures)
                .where(where)
                .values(failures=login_failures.c.failures + 1, last_failure_us=now_us)
            )
            failures = int(
                conn.execute(select(login_failures.c.failures).where(where)).scalar_one()
            )
            wait = policy.delay_us(failures)
            conn.execute(update(login_failures).where(where).values(locked_until_us=now_us + wait))
            if failures == policy.free_failures:
                source = "on a browser you used before" if subject.startswith("device:") else ""
                self._notify(
                    conn,
                    user_id,
                    "login_backoff",
                    f"{failures} failed logins in a row{' ' + source if source else ''}: each "
                    f"further try must wait (up to {int(policy.max_s // 60)} minutes) until a "
                    "login succeeds. If this was not you, someone is guessing your password: "
                    "choose a strong one.",
                    now_us,
                )
        return wait

    def _ensure_row(self, subject: str, user_id: int) -> None:
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(
                    select(login_failures.c.subject).where(login_failures.c.subject == subject)
                ).first()
                if exists is None:
                    conn.execute(
                        insert(login_failures).values(
                            subject=subject,
                            user_id=user_id,
                            failures=0,
                            last_failure_us=0,
                            locked_until_us=0,
                        )
                    )
        except IntegrityError:  # another process inserted it first
            pass

    def succeeded(self, subject: str) -> None:
        """A login of this subject succeeded: its count starts again."""
        with self.engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.subject == subject))

    def notify(self, user_id: int, kind: str, detail: str, now_us: int) -> None:
        with self.engine.begin() as conn:
            self._notify(conn, user_id, kind, detail, now_us)

    @staticmethod
    def _notify(conn: Connection, user_id: int, kind: str, detail: str, now_us: int) -> None:
        conn.execute(
            insert(security_notices).values(
                user_id=user_id, kind=kind, detail=detail, created_us=now_us
            )
        )

    def notices(self, user_id: int, limit: int = NOTICES_SHOWN) -> list[Notice]:
        """The account's newest notices, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(security_notices)
                .where(security_notices.c.user_id == user_id)
                .order_by(security_notices.c.id.desc())
                .limit(limit)
            ).all()
        return [Notice(r.id, r.kind, r.detail, r.created_us) for r in rows]

    def forget(self, conn: Connection, user_id: int) -> None:
        """Drop a deleted account's rows (in the caller's transaction)."""
        conn.execute(delete(login_failures).where(login_failures.c.user_id == user_id))
        conn.execute(delete(security_notices).where(security_notices.c.user_id == user_id))
