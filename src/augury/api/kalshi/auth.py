"""Kalshi's request signatures: who sent a request to ``/trade-api``.

A request carries ``KALSHI-ACCESS-KEY`` (the API key's id), ``KALSHI-ACCESS-TIMESTAMP``
(milliseconds since the epoch) and ``KALSHI-ACCESS-SIGNATURE``: base64 of a signature
over ``timestamp + METHOD + path`` (the path as sent, without the query, including
``/trade-api/v2``), RSA-PSS with SHA-256 and a salt as long as the digest, or Ed25519,
by the private half of the public key registered with that API key
(``augury.api.public_keys``). RSA-PSS is checked by ``cryptography`` (OpenSSL), on the
event loop; Ed25519 by libsodium (PyNaCl: half the CPU), on a thread beside the loop
(``signature_thread``).

A timestamp more than :data:`WINDOW_MS` away from the server's clock is refused (stale
or from the future), and so is a signature already seen within that window (a replay):
the window bounds how long a signature must be remembered. Replays are remembered per
process (each API node keeps its own set).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import OrderedDict
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from augury.api.deps import Principal
from augury.api.kalshi.errors import KalshiError
from augury.api.kalshi.signature_thread import SignatureThread
from augury.api.public_keys import PublicKey, PublicKeys, SigningKey

KEY_HEADER: Final = "kalshi-access-key"
TIMESTAMP_HEADER: Final = "kalshi-access-timestamp"
SIGNATURE_HEADER: Final = "kalshi-access-signature"
WINDOW_MS: Final = 30_000
"""How far a request's timestamp may be from the server's clock, either way."""
SEEN_MAX: Final = 200_000
"""Signatures remembered against replays (the oldest forgotten first, beyond the window
anyway); a node taking more signed requests per window than this would forget early."""
SIGNATURE_LENGTH_MAX: Final = 1_024
REPLAYED: Final = "this signature was already used (a replay)"
ED25519_SIGNATURE_LENGTH: Final = 64


def verify_signature(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """Is ``signature`` ``key``'s over ``message`` (RSA-PSS SHA-256, or Ed25519)?

    Ed25519 is libsodium's check (``crypto_sign_open``), which refuses what RFC 8032
    refuses and also non-canonical encodings and small-order keys; it runs without the
    GIL (``SIGNATURES``)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        if len(signature) != ED25519_SIGNATURE_LENGTH:
            return False
        try:
            VerifyKey(key.public_bytes_raw()).verify(message, signature)
        except BadSignatureError:
            return False
        return True
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(
            signature,
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
    except InvalidSignature:
        return False
    return True


SIGNATURES = SignatureThread(verify_signature)
"""The process's one thread for Ed25519 checks."""


def signed_message(timestamp: str, method: str, path: str) -> bytes:
    """What a request's signature covers."""
    return (timestamp + method.upper() + path.split("?", 1)[0]).encode()


class Replays:
    """Signatures seen in the last window: ``first(sig, now_ms)`` is False for a repeat."""

    def __init__(self, window_ms: int = WINDOW_MS, size_max: int = SEEN_MAX) -> None:
        self.window_ms = window_ms
        self.size_max = size_max
        self._seen: OrderedDict[bytes, int] = OrderedDict()

    def seen(self, signature: bytes) -> bool:
        """Was ``signature`` accepted already? Only checked signatures are remembered, so
        a repeat can be refused before it costs a check."""
        return signature in self._seen

    def first(self, signature: bytes, now_ms: int) -> bool:
        seen = self._seen
        while seen:
            oldest_sig, at = next(iter(seen.items()))
            if at > now_ms - 2 * self.window_ms and len(seen) < self.size_max:
                break
            del seen[oldest_sig]
        if signature in seen:
            return False
        seen[signature] = now_ms
        return True


def _unauthorized(message: str) -> KalshiError:
    return KalshiError(401, "unauthorized", message)


class Verifier:
    """Checks the signed headers of a request against the registered public keys."""

    def __init__(self, keys: PublicKeys, window_ms: int = WINDOW_MS) -> None:
        self.keys = keys
        self.window_ms = window_ms
        self.replays = Replays(window_ms)

    async def principal(self, request: HTTPConnection, method: str) -> Principal:
        """The caller of a signed request; 401 (KalshiError) for anything wrong."""
        headers = request.headers
        key_id = headers.get(KEY_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature_b64 = headers.get(SIGNATURE_HEADER)
        if not key_id or not timestamp or not signature_b64:
            raise _unauthorized(
                "sign the request: KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP, "
                "KALSHI-ACCESS-SIGNATURE"
            )
        if not timestamp.isdigit() or len(timestamp) > 16:
            raise _unauthorized("KALSHI-ACCESS-TIMESTAMP must be milliseconds since the epoch")
        now_ms = time.time_ns() // 1_000_000
        if abs(now_ms - int(timestamp)) > self.window_ms:
            raise _unauthorized(
                f"the request's timestamp is more than {self.window_ms // 1000} s from the "
                "server's clock"
            )
        if len(signature_b64) > SIGNATURE_LENGTH_MAX:
            raise _unauthorized("the signature is not valid")
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError):
            raise _unauthorized("the signature is not base64") from None
        if self.replays.seen(signature):  # refused before it costs a check
            raise _unauthorized(REPLAYED)
        found = self.keys.cached(key_id)
        if found is None:
            found = await run_in_threadpool(self.keys.lookup, key_id)
        if found is None:
            raise _unauthorized("unknown or revoked API key")
        message = signed_message(timestamp, method, _raw_path(request))
        if isinstance(found.key, ed25519.Ed25519PublicKey):
            valid = await SIGNATURES.verify(found.key, message, signature)
        else:
            valid = verify_signature(found.key, message, signature)
        if not valid:
            raise _unauthorized("the signature is not valid")
        if not self.replays.first(signature, now_ms):  # two at once: the first one wins
            raise _unauthorized(REPLAYED)
        return _principal(found)


def _raw_path(request: HTTPConnection) -> str:
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1").split("?", 1)[0]
    return str(request.scope["path"])


def _principal(found: SigningKey) -> Principal:
    return Principal(found.user, found.scopes, "api_key")


def require(principal: Principal, scope: str) -> None:
    """403 unless the key has ``scope`` (Augury's: read, trade, admin)."""
    if scope not in principal.scopes:
        raise KalshiError(403, "forbidden", f"this API key lacks the {scope!r} scope")
