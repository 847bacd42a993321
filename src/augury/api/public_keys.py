"""Public keys registered beside API keys, for requests signed with the private half.

A user may attach an RSA or Ed25519 public key (PEM) to one of its API keys
(``POST /auth/api-keys`` with ``public_key``, or Kalshi's ``/api_keys``); a request
signed by the private key and naming the API key's id is then that key's (its user and
scopes). The private key never reaches the server unless the server generated the pair
(Kalshi's ``/api_keys/generate``), and then it is answered once and not kept.

The table is separate from ``api_keys`` (one row per key that has a public key), so
adding it changed no existing table; migration 0003 of the API's chain makes it.
Revoking the API key revokes its public key with it (the lookup joins the live key).
Every method is synchronous (call it from a worker thread).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import BigInteger, Column, Engine, String, Table, Text, insert, select

from augury.api.errors import ApiError
from augury.identity.store import IdentityStore, User, _user, api_keys, metadata, users

KeyType = Literal["rsa", "ed25519"]
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PEM_LENGTH_MAX = 4_096
RSA_BITS_MIN = 2_048
CACHE_TTL_S = 5.0
"""How long a looked-up key is trusted without asking the database again (a revocation
in this process applies at once, even to a lookup under way; in another within this)."""
CACHE_MAX = 10_000

public_keys = Table(
    "api_key_public_keys",
    metadata,
    # the api_keys row's id; no foreign key, so that deleting a user's keys (identity.py)
    # needs no change: a public key whose API key is gone is never found (the join)
    Column("key_id", String(32), primary_key=True),
    Column("key_type", String(16), nullable=False),
    Column("pem", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)


def load_public_key(pem: str) -> tuple[KeyType, PublicKey]:
    """The key type and key of a PEM public key; ValueError unless it is RSA (2048 bits
    or more) or Ed25519."""
    if not pem or len(pem) > PEM_LENGTH_MAX:
        raise ValueError(f"a public key is a PEM of at most {PEM_LENGTH_MAX} characters")
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ValueError("not a PEM public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < RSA_BITS_MIN:
            raise ValueError(f"an RSA key must have at least {RSA_BITS_MIN} bits")
        return "rsa", key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", key
    raise ValueError("the public key must be RSA or Ed25519")


def generate_pair(key_type: KeyType) -> tuple[str, str]:
    """A new (private PEM, public PEM) pair: RSA 2048 or Ed25519."""
    private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if key_type == "rsa":
        private = rsa.generate_private_key(public_exponent=65_537, key_size=RSA_BITS_MIN)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A live API key with a public key: who signs with it, and with what scopes."""

    key_id: str
    user: User
    scopes: tuple[str, ...]
    key_type: KeyType
    key: PublicKey


class PublicKeys:
    """The public keys of ``engine``'s API keys (the table created if absent)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        public_keys.create(engine, checkfirst=True)
        self._cache: dict[str, tuple[float, SigningKey]] = {}
        self._forgotten = 0
        """How many times ``forget`` was called: a lookup that began before one (and may
        have read the key before its revocation) does not fill the cache."""

    def add(self, key_id: str, pem: str) -> KeyType:
        """Attach ``pem`` to API key ``key_id`` (ValueError if it is not a usable key)."""
        key_type, _ = load_public_key(pem)
        with self.engine.begin() as conn:
            conn.execute(
                insert(public_keys).values(
                    key_id=key_id, key_type=key_type, pem=pem, created_us=time.time_ns() // 1_000
                )
            )
        return key_type

    def types(self, key_ids: list[str]) -> dict[str, str]:
        """key id -> key type, for those of ``key_ids`` that have a public key."""
        if not key_ids:
            return {}
        p = public_keys
        with self.engine.connect() as conn:
            rows = conn.execute(select(p.c.key_id, p.c.key_type).where(p.c.key_id.in_(key_ids)))
            return {row.key_id: row.key_type for row in rows}

    def cached(self, key_id: str) -> SigningKey | None:
        """A key looked up in the last few seconds (no I/O), else None."""
        found = self._cache.get(key_id)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def forget(self, key_id: str) -> None:
        """Drop ``key_id`` from the cache (its API key was just revoked)."""
        self._forgotten += 1
        self._cache.pop(key_id, None)

    def forget_user(self, user_id: int | None) -> None:
        """Drop the keys of user ``user_id`` (None: everyone's) from the cache: the user
        was deleted or disabled, or their roles or password changed (``IdentityStore``)."""
        self._forgotten += 1
        if user_id is None:
            self._cache.clear()
            return
        for key_id, (_, found) in list(self._cache.items()):
            if found.user.id == user_id:
                self._cache.pop(key_id, None)

    def lookup(self, key_id: str) -> SigningKey | None:
        """The live API key ``key_id`` with its public key, of an enabled user, or None."""
        if not 0 < len(key_id) <= 32:
            return None
        forgotten = self._forgotten
        k, p = api_keys, public_keys
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users, k.c.scopes.label("key_scopes"), p.c.key_type, p.c.pem)
                .join(k, k.c.user_id == users.c.id)
                .join(p, p.c.key_id == k.c.id)
                .where(k.c.id == key_id, k.c.revoked_us.is_(None), users.c.disabled.is_(False))
            ).first()
        if row is None:
            return None
        key_type, key = load_public_key(row.pem)
        found = SigningKey(key_id, _user(row), tuple(row.key_scopes.split(",")), key_type, key)
        if self._forgotten != forgotten:
            return found  # a revocation meanwhile: answer this request, cache nothing
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[key_id] = (time.monotonic() + CACHE_TTL_S, found)
        return found


def public_keys_of(state: Any, identity: IdentityStore) -> PublicKeys:
    """The app's one ``PublicKeys`` (made on first use, on ``state``: ``app.state``),
    forgetting a user's keys whenever ``identity`` forgets the user."""
    found: PublicKeys | None = getattr(state, "public_keys", None)
    if found is None:
        found = state.public_keys = PublicKeys(identity.engine)
        identity.forget_listeners.append(found.forget_user)
    return found


def check_public_key(pem: str) -> None:
    """422 ``invalid_public_key`` unless ``pem`` is a usable public key."""
    try:
        load_public_key(pem)
    except ValueError as error:
        raise ApiError(422, "invalid_public_key", str(error)) from None
