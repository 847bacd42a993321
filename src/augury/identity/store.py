"""Who people are: users, password hashes, sessions, API keys, roles, market metadata.

These are SQL tables of their own (SQLAlchemy Core), in the same database as the read
models but never touched by the projector, and migrated on startup
(``augury.identity.migrate``). Money is never here: balances live only in the journal.
Secrets are never stored: passwords as argon2id hashes, session tokens and API keys as
HMAC-SHA256 digests keyed by the server's secret key, so a copy of the database alone
cannot log anyone in.

Every method is synchronous (call it from a worker thread, not the event loop).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKey,
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

from augury.identity.login_guard import BackoffPolicy, LoginGuard, account_subject, device_subject

ROLES = ("trader", "market_creator", "resolver", "arbiter", "admin")
SCOPES = ("read", "trade", "admin")
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.\-]{2,31}")
"""3..32 lowercase letters, digits, '_', '.', '-': also a valid core account id."""
API_KEY_PREFIX = "aug_"
API_KEYS_PER_USER_MAX = 50
AUTH_CACHE_TTL_S = 5.0
"""How long a verified API key or session is trusted without asking the database again
(a revocation in this process applies at once; in another process within this)."""
AUTH_CACHE_MAX = 10_000
DIGESTS_MAX = 4_096
"""Secrets whose digest ``cached`` remembers (each at most 100 characters)."""
CredentialKind = Literal["session", "api_key"]
"""What a secret is: the two are never interchangeable (a session token is only ever
looked up as a session, an API key only as a key, in the cache as in the tables)."""
HASHING_CONCURRENCY_MAX = 4
"""argon2id hashes computed at once (each takes its memory cost, 64 MiB by default):
a flood of logins queues up instead of exhausting memory."""

metadata = MetaData()

users = Table(
    "api_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("roles", String(200), nullable=False),  # comma-separated
    Column("created_us", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

sessions = Table(
    "api_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("api_users.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index("ix_api_sessions_user", "user_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("api_users.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(100), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger, nullable=True),
    Index("ix_api_keys_user", "user_id"),
)

market_meta = Table(
    "api_market_meta",
    metadata,
    Column("market", String(64), primary_key=True),
    Column("description", Text, nullable=False),
    Column("rules", Text, nullable=False),
    Column("category", String(64), nullable=False),
    Column("resolution_spec", Text, nullable=False),  # JSON object (placeholder)
    Column("created_by", String(32), nullable=False),
    Index("ix_api_market_meta_category", "category"),
)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    roles: tuple[str, ...]
    created_us: int


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_us: int
    revoked_us: int | None


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What a login came to: the user (password right), or None; ``wait_us`` > 0 when
    the account is backed off after failed logins (the password was not checked)."""

    user: User | None
    wait_us: int = 0
    device: str = ""
    """After a success: the device cookie for this browser (the one it sent, if valid)."""


def _now_us() -> int:
    return time.time_ns() // 1_000


def _user(row: Any) -> User:
    return User(row.id, row.username, tuple(row.roles.split(",")), row.created_us)


class IdentityStore:
    """Users, sessions and API keys in ``engine``'s database (``augury.identity.migrate``)."""

    def __init__(
        self, engine: Engine, secret_key: str, *, time_cost: int = 3, memory_kib: int = 65_536
    ) -> None:
        self.engine = engine
        self._secret = secret_key.encode()
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._hashing = threading.BoundedSemaphore(HASHING_CONCURRENCY_MAX)
        # (kind, digest of the secret) -> (trusted until, user, scopes)
        self._cache: dict[tuple[CredentialKind, str], tuple[float, User, tuple[str, ...]]] = {}
        # secret -> its digest, for the cache's lookups: an HMAC per request cost more than
        # the lookup (keyed by the whole secret, bounded, least recently used dropped)
        self._cached_digest = functools.lru_cache(maxsize=DIGESTS_MAX)(self.digest)
        self.guard = LoginGuard(engine)
        self.forget_listeners: list[Callable[[int | None], None]] = []
        """Called with a user's id (None: every user) when what was cached of them must
        go: the HTTP layer's other credential caches (Kalshi's signing keys) listen."""

    # -- the authentication cache --------------------------------------------------------
    def cached(self, kind: CredentialKind, token: str) -> tuple[User, tuple[str, ...]] | None:
        """A recently verified secret of this ``kind`` (no I/O); None if not cached.

        A session token is never found as an API key, nor an API key as a session."""
        if len(token) > 100:
            return None
        found = self._cache.get((kind, self._cached_digest(token)))
        if found is None or found[0] < time.monotonic():
            return None
        return found[1], found[2]

    def _remember(
        self, kind: CredentialKind, digest: str, user: User, scopes: tuple[str, ...]
    ) -> None:
        if len(self._cache) >= AUTH_CACHE_MAX:
            self._cache.clear()
        self._cache[kind, digest] = (time.monotonic() + AUTH_CACHE_TTL_S, user, scopes)

    def _forget_user(self, user_id: int | None = None) -> None:
        for listener in self.forget_listeners:
            listener(user_id)
        if user_id is None:
            self._cache.clear()
            return
        for cache_key, (_, user, _) in list(self._cache.items()):
            if user.id == user_id:
                self._cache.pop(cache_key, None)

    # -- secrets -----------------------------------------------------------------------
    def digest(self, token: str) -> str:
        """HMAC-SHA256 of a session token or API key (what the tables store)."""
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, session_token: str) -> str:
        """The CSRF token bound to a session (double-submit: cookie and header)."""
        return hmac.new(self._secret, b"csrf:" + session_token.encode(), "sha256").hexdigest()

    def hash_password(self, password: str) -> str:
        return self._hash(password)

    def _hash(self, password: str) -> str:
        with self._hashing:
            return self._hasher.hash(password)

    def _verify(self, password_hash: str, password: str) -> None:
        with self._hashing:
            self._hasher.verify(password_hash, password)

    # -- users -------------------------------------------------------------------------
    def count_users(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(users.c.id).limit(1)).all())

    def create_user(self, username: str, password_hash: str, roles: tuple[str, ...]) -> User | None:
        """A new user, or None if the username is taken."""
        assert all(role in ROLES for role in roles)
        created = _now_us()
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    insert(users).values(
                        username=username,
                        password_hash=password_hash,
                        roles=",".join(roles),
                        created_us=created,
                        disabled=False,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                user_id = int(key[0])
        except IntegrityError:
            return None
        return User(user_id, username, roles, created)

    def delete_user(self, user_id: int) -> None:
        self._forget_user(user_id)
        with self.engine.begin() as conn:
            self.guard.forget(conn, user_id)
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            conn.execute(delete(api_keys).where(api_keys.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))

    def get_user(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users).where(users.c.username == username, users.c.disabled.is_(False))
            ).first()
        return None if row is None else _user(row)

    def list_users(
        self, *, q: str | None = None, role: str | None = None, after: str = "", limit: int = 50
    ) -> list[User]:
        """Active users in username order, after ``after``, optionally matching ``q`` (a
        part of the username) and holding ``role``."""
        query = select(users).where(users.c.disabled.is_(False), users.c.username > after)
        if q:
            query = query.where(users.c.username.contains(q.lower(), autoescape=True))
        if role:
            query = query.where(("," + users.c.roles + ",").contains(f",{role},"))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(users.c.username).limit(limit)).all()
        return [_user(row) for row in rows]

    def set_roles(self, username: str, roles: tuple[str, ...]) -> User | None:
        assert all(role in ROLES for role in roles)
        with self.engine.begin() as conn:
            conn.execute(
                update(users).where(users.c.username == username).values(roles=",".join(roles))
            )
        self._forget_user()
        return self.get_user(username)

    def attempt_login(
        self,
        username: str,
        password: str,
        policy: BackoffPolicy | None = None,
        device: str = "",
    ) -> LoginAttempt:
        """Check a login: the same work for a missing user as for a wrong password; an
        account backed off after failed logins (``augury.identity.login_guard``) is answered
        with its wait and its password is not checked; a wrong password counts. A valid
        ``device`` cookie of this user's counts apart from the account's."""
        policy = policy if policy is not None else BackoffPolicy()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users).where(users.c.username == username, users.c.disabled.is_(False))
            ).first()
        if row is None:
            # hash anyway, so that a missing user takes as long as a wrong password
            self._hash(password)
            return LoginAttempt(None)
        now = _now_us()
        known = self.device_nonce(device, row.id)
        subject = account_subject(row.id) if known is None else device_subject(row.id, known)
        wait = self.guard.wait_us(subject, now)
        if wait > 0:
            return LoginAttempt(None, wait)
        if not self._password_ok(row, password):
            self.guard.failed(subject, row.id, now, policy)
            return LoginAttempt(None)
        self.guard.succeeded(subject)
        return LoginAttempt(_user(row), device=device if known else self._new_device(row.id))

    # -- device cookies: a browser that logged in before (see augury.identity.login_guard) --
    def _device_mac(self, user_id: int, nonce: str) -> str:
        message = f"device:{user_id}:{nonce}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def _new_device(self, user_id: int) -> str:
        nonce = secrets.token_urlsafe(12)
        return f"{user_id}.{nonce}.{self._device_mac(user_id, nonce)}"

    def device_nonce(self, device: str, user_id: int) -> str | None:
        """The nonce of a device cookie this server issued to ``user_id``, else None."""
        parts = device.split(".") if 0 < len(device) <= 100 else []
        if len(parts) != 3 or parts[0] != str(user_id):
            return None
        if not hmac.compare_digest(parts[2], self._device_mac(user_id, parts[1])):
            return None
        return parts[1]

    def _password_ok(self, row: Any, password: str) -> bool:
        try:
            self._verify(row.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(row.password_hash):
            self._set_password_hash(row.id, self._hash(password))
        return True

    def _set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )

    def change_password(self, user: User, password_hash: str, keep_session: str) -> None:
        """Store a new password hash and end every other session of the user (the one
        token ``keep_session`` stays); its API keys stay. The owner gets a notice."""
        self._set_password_hash(user.id, password_hash)
        kept = self.digest(keep_session)
        with self.engine.begin() as conn:
            conn.execute(
                delete(sessions).where(sessions.c.user_id == user.id, sessions.c.token_hash != kept)
            )
        self._forget_user(user.id)
        self.guard.notify(
            user.id,
            "password_changed",
            "your password was changed; every other session was logged out",
            _now_us(),
        )

    # -- sessions ----------------------------------------------------------------------
    def create_session(self, user: User, ttl_s: int) -> str:
        token = secrets.token_urlsafe(32)
        now = _now_us()
        with self.engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    token_hash=self.digest(token),
                    user_id=user.id,
                    created_us=now,
                    expires_us=now + ttl_s * 1_000_000,
                )
            )
        return token

    def session_user(self, token: str) -> User | None:
        if not 0 < len(token) <= 100:
            return None
        digest = self.digest(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users)
                .join(sessions, sessions.c.user_id == users.c.id)
                .where(
                    sessions.c.token_hash == digest,
                    sessions.c.expires_us > _now_us(),
                    users.c.disabled.is_(False),
                )
            ).first()
        if row is None:
            return None
        user = _user(row)
        self._remember("session", digest, user, SCOPES)
        return user

    def end_session(self, token: str) -> None:
        digest = self.digest(token)
        self._cache.pop(("session", digest), None)
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == digest))

    # -- API keys ----------------------------------------------------------------------
    def create_api_key(
        self, user: User, name: str, scopes: tuple[str, ...]
    ) -> tuple[str, ApiKeyInfo] | None:
        """(the key, shown once; its info), or None if the user has too many keys."""
        assert scopes and all(scope in SCOPES for scope in scopes)
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        info = ApiKeyInfo(
            id=secrets.token_hex(8),
            name=name,
            prefix=key[:10],
            scopes=scopes,
            created_us=_now_us(),
            revoked_us=None,
        )
        with self.engine.begin() as conn:
            live = conn.execute(
                select(api_keys.c.id).where(
                    api_keys.c.user_id == user.id, api_keys.c.revoked_us.is_(None)
                )
            ).all()
            if len(live) >= API_KEYS_PER_USER_MAX:
                return None
            conn.execute(
                insert(api_keys).values(
                    id=info.id,
                    user_id=user.id,
                    name=name,
                    prefix=info.prefix,
                    key_hash=self.digest(key),
                    scopes=",".join(scopes),
                    created_us=info.created_us,
                    revoked_us=None,
                )
            )
        return key, info

    def list_api_keys(self, user: User) -> list[ApiKeyInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(api_keys)
                .where(api_keys.c.user_id == user.id)
                .order_by(api_keys.c.created_us, api_keys.c.id)
            ).all()
        return [
            ApiKeyInfo(
                r.id, r.name, r.prefix, tuple(r.scopes.split(",")), r.created_us, r.revoked_us
            )
            for r in rows
        ]

    def revoke_api_key(self, user: User, key_id: str) -> bool:
        """Revoke one of ``user``'s own keys; False if it has no such live key."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    api_keys.c.user_id == user.id,
                    api_keys.c.revoked_us.is_(None),
                )
                .values(revoked_us=_now_us())
            )
        self._forget_user(user.id)
        return result.rowcount == 1

    def api_key_id(self, key: str) -> str | None:
        """The id of the live API key ``key`` (None: no such live key)."""
        if not key.startswith(API_KEY_PREFIX) or len(key) > 100:
            return None
        with self.engine.connect() as conn:
            found = conn.execute(
                select(api_keys.c.id).where(
                    api_keys.c.key_hash == self.digest(key), api_keys.c.revoked_us.is_(None)
                )
            ).scalar()
        return None if found is None else str(found)

    def api_key_user(self, key: str) -> tuple[User, tuple[str, ...]] | None:
        if not key.startswith(API_KEY_PREFIX) or len(key) > 100:
            return None
        digest = self.digest(key)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users, api_keys.c.scopes.label("key_scopes"))
                .join(api_keys, api_keys.c.user_id == users.c.id)
                .where(
                    api_keys.c.key_hash == digest,
                    api_keys.c.revoked_us.is_(None),
                    users.c.disabled.is_(False),
                )
            ).first()
        if row is None:
            return None
        user, scopes = _user(row), tuple(row.key_scopes.split(","))
        self._remember("api_key", digest, user, scopes)
        return user, scopes

    # -- market metadata ---------------------------------------------------------------
    def save_market_meta(
        self,
        market: str,
        *,
        description: str,
        rules: str,
        category: str,
        resolution_spec: dict[str, Any],
        created_by: str,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(market_meta).values(
                    market=market,
                    description=description,
                    rules=rules,
                    category=category,
                    resolution_spec=json.dumps(resolution_spec, sort_keys=True),
                    created_by=created_by,
                )
            )

    def update_market_spec(self, market: str, resolution_spec: dict[str, Any]) -> None:
        """Keep the market's listed spec in step with its newest journaled version."""
        with self.engine.begin() as conn:
            conn.execute(
                update(market_meta)
                .where(market_meta.c.market == market)
                .values(resolution_spec=json.dumps(resolution_spec, sort_keys=True))
            )

    def delete_market_meta(self, market: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(market_meta).where(market_meta.c.market == market))

    def reserve_market_meta(
        self,
        market: str,
        *,
        description: str,
        rules: str,
        category: str,
        resolution_spec: dict[str, Any],
        created_by: str,
    ) -> bool:
        """Store a market's metadata before it is created; False if the id is taken."""
        try:
            self.save_market_meta(
                market,
                description=description,
                rules=rules,
                category=category,
                resolution_spec=resolution_spec,
                created_by=created_by,
            )
        except IntegrityError:
            return False
        return True
