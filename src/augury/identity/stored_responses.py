"""Stored responses: ``Idempotency-Key`` for the routes that are not one engine command.

Most state-changing routes submit one engine command, and the engine journals the key
(``routes.common.idempotency_key``). The others (register, log in, log out, API key
creation, advancing the simulated clock, observing a market's sources now) keep the
answer of the first request with a key here, and a retry gets that answer back without
running again: one SQL table, ``api_stored_responses``, next to the identity tables
(same database, migrated with them by ``augury.identity.migrate``, never touched by the
projector).

A row is (scope, key, fingerprint, status, payload, created time):

- ``scope``: the caller's account, ``session:<digest>`` for a log-out by session cookie
  (the session is gone by the retry, its digest is not), or :data:`ANONYMOUS_SCOPE`
  for register and log in. No scope is a valid username, so none collides with another.
- ``fingerprint``: HMAC-SHA256, keyed from the server's secret key, of the method, the
  path and the canonical JSON body (keys sorted, no spaces). Keyed rather than a bare
  SHA-256 because the bodies of register and log in hold passwords: a bare digest of
  a username and password could be guessed offline from a copy of the database.
- ``payload``: the response body and the ``Set-Cookie`` headers it set, as JSON,
  encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from the server's
  secret key, with the row's scope, key, fingerprint and status as associated data.
  The answers held here carry secrets (an API key shown once, a session token and its
  CSRF token), so, as with the identity tables, a copy of the database alone reveals
  nothing: not the secrets, not the bodies.
- ``created_us``: wall-clock time (never the simulated clock); a row is used for
  :data:`TTL_S` (24 h), then it is as if it never was; expired rows are deleted.

Only successes are stored: a request refused with 4xx (or failing with 5xx) is not,
so it can be retried with the same key once its cause is fixed.

While a request with a key runs, its row is a claim (status :data:`CLAIMED`, no
payload), written before it runs (:meth:`StoredResponses.claim`): a retry through any
API node that shares the database meanwhile finds it and is refused with 409, instead
of running a second time on another node. The answer replaces the claim; a request that
fails releases it. A claim older than :data:`CLAIM_S` (its node died mid-request) is
taken over by the next request with the key.

Every method is synchronous (call it from a worker thread, not the event loop).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger(__name__)

TTL_S = 24 * 3600
"""How long a stored response answers a retry (24 h, wall-clock time)."""
ANONYMOUS_SCOPE = "*anonymous"
"""The scope of the routes without a caller (register, log in): not a valid username."""
SESSION_SCOPE_PREFIX = "session:"
PURGE_EVERY_S = 600.0
"""How often (at most) a save also deletes every expired row."""
NONCE_LEN = 12
CLAIMED = 0
"""The status of a claim: a request with the key is running (no HTTP status is 0)."""
CLAIM_S = 120
"""How long a claim holds its key (a login or a registration waits for argon2id at
worst some seconds); an older one is a request whose node died, and is taken over."""

metadata = MetaData()

stored_responses = Table(
    "api_stored_responses",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # nonce + AES-GCM ciphertext
    Column("created_us", BigInteger, nullable=False),
    Index("ix_api_stored_responses_created", "created_us"),
)

CLAIMED_ROW = stored_responses.c.status == CLAIMED


class KeyReused(Exception):
    """The key was stored for another request (method, path or body)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored response: status, JSON body, and the Set-Cookie header values it set."""

    status: int
    body: Any
    cookies: tuple[str, ...] = ()


def _wall_us() -> int:
    return time.time_ns() // 1_000


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def canonical_body(body: bytes) -> bytes:
    """The JSON body with its keys sorted and no spaces (the raw bytes if not JSON).

    A lone surrogate (``"\\ud800"`` in the JSON) is encoded as such ("surrogatepass"):
    the body is refused later, but its fingerprint must not fail first."""
    if not body:
        return b""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


class StoredResponses:
    """The stored responses in ``engine``'s database (migrated by ``augury.identity.migrate``).

    ``now_us`` (wall-clock microseconds) and ``ttl_s`` can be injected for tests.
    """

    def __init__(
        self,
        engine: Engine,
        secret_key: str,
        *,
        ttl_s: int = TTL_S,
        now_us: Callable[[], int] = _wall_us,
    ) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._now_us = now_us
        secret = secret_key.encode()
        self._aead = AESGCM(_derive(secret, b"augury stored responses v1"))
        self._fingerprint_key = _derive(secret, b"augury idempotency fingerprint v1")
        self._purged_at = float("-inf")

    # -- the request -------------------------------------------------------------------
    def fingerprint(self, method: str, path: str, body: bytes) -> str:
        """Keyed SHA-256 of the method, the path and the canonical body."""
        message = method.upper().encode() + b"\n" + path.encode() + b"\n" + canonical_body(body)
        return hmac.new(self._fingerprint_key, message, hashlib.sha256).hexdigest()

    # -- rows --------------------------------------------------------------------------
    def _cutoff(self) -> int:
        return self._now_us() - self.ttl_s * 1_000_000

    @staticmethod
    def _aad(scope: str, key: str, fingerprint: str, status: int) -> bytes:
        return json.dumps([scope, key, fingerprint, status]).encode()

    def find(self, scope: str, key: str, fingerprint: str) -> Stored | None:
        """The response stored for (scope, key), None if there is none (or it expired).

        Raises :class:`KeyReused` if it was stored for another request.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(stored_responses).where(
                    stored_responses.c.scope == scope,
                    stored_responses.c.key == key,
                    stored_responses.c.created_us > self._cutoff(),
                )
            ).first()
        if row is None or row.status == CLAIMED:
            return None
        if not hmac.compare_digest(row.fingerprint, fingerprint):
            raise KeyReused(key)
        data = bytes(row.payload)
        try:
            plain = self._aead.decrypt(
                data[:NONCE_LEN], data[NONCE_LEN:], self._aad(scope, key, fingerprint, row.status)
            )
        except InvalidTag:
            # another secret key (or a tampered row): as if nothing was stored
            log.warning("a stored response could not be decrypted; ignoring it")
            return None
        document = json.loads(plain)
        return Stored(row.status, document["body"], tuple(document["cookies"]))

    def save(self, scope: str, key: str, fingerprint: str, stored: Stored) -> bool:
        """Store a response; False if (scope, key) already holds a live one (kept)."""
        now = self._now_us()
        document = {"body": stored.body, "cookies": list(stored.cookies)}
        plain = json.dumps(document, separators=(",", ":")).encode()
        nonce = os.urandom(NONCE_LEN)
        sealed = nonce + self._aead.encrypt(
            nonce, plain, self._aad(scope, key, fingerprint, stored.status)
        )
        try:
            # the answer replaces the request's claim (or a claim taken for dead)
            self._put(scope, key, fingerprint, stored.status, sealed, now, CLAIMED_ROW)
        except IntegrityError:
            return False  # another process stored its answer first
        finally:
            self._maybe_purge()
        return True

    def claim(self, scope: str, key: str, fingerprint: str) -> int | None:
        """Claim (scope, key) for a request about to run: the claim's time (give it to
        :meth:`release`), 0 if an answer is stored already (:meth:`find` replays it or
        refuses the key), or None if another request holds the key now, on any node."""
        for _ in range(3):
            now = self._now_us()
            stale = and_(CLAIMED_ROW, stored_responses.c.created_us <= now - CLAIM_S * 1_000_000)
            try:
                self._put(scope, key, fingerprint, CLAIMED, b"", now, stale)
                return now
            except IntegrityError:
                pass
            with self.engine.connect() as conn:
                status = conn.execute(
                    select(stored_responses.c.status).where(
                        stored_responses.c.scope == scope, stored_responses.c.key == key
                    )
                ).scalar()
            if status is not None:
                return None if status == CLAIMED else 0
            # released meanwhile: try again
        return None

    def _put(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        status: int,
        payload: bytes,
        now: int,
        replaces: ColumnElement[bool],
    ) -> None:
        """Insert a row for (scope, key) where none is, or an expired one, or one that
        ``replaces`` holds for; IntegrityError if a row is live there."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(stored_responses).where(
                    stored_responses.c.scope == scope,
                    stored_responses.c.key == key,
                    or_(stored_responses.c.created_us <= self._cutoff(), replaces),
                )
            )
            conn.execute(
                insert(stored_responses).values(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    status=status,
                    payload=payload,
                    created_us=now,
                )
            )

    def release(self, scope: str, key: str, claimed_us: int) -> None:
        """Drop the claim made at ``claimed_us`` if it is still a claim (not an answer,
        nor another request's claim since)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(stored_responses).where(
                    stored_responses.c.scope == scope,
                    stored_responses.c.key == key,
                    CLAIMED_ROW,
                    stored_responses.c.created_us == claimed_us,
                )
            )

    def purge(self) -> int:
        """Delete every expired row; how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(stored_responses).where(stored_responses.c.created_us <= self._cutoff())
            )
        return int(result.rowcount or 0)

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now - self._purged_at < PURGE_EVERY_S:
            return
        self._purged_at = now
        try:
            self.purge()
        except Exception:  # a purge is housekeeping: the next one will do
            log.exception("purging expired stored responses failed")
