"""Signature checks of ``augury.api.kalshi.auth``, with Kalshi's documented example.

Kalshi's docs sign ``timestamp + method + path`` for ``GET /trade-api/v2/portfolio/balance``
with RSA-PSS (MGF1 SHA-256, salt of the digest's length) or Ed25519, the path without
its query. RSA-PSS is randomized, so the example is checked by signing it exactly as
the docs (and the client's ``KalshiAuth.sign``) do and verifying the result.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from augury.api.kalshi.auth import Replays, signed_message, verify_signature
from augury.api.public_keys import load_public_key

TIMESTAMP = "1703123456789"
PATH = "/trade-api/v2/portfolio/balance"


def kalshi_rsa_sign(private: rsa.RSAPrivateKey, message: bytes) -> bytes:
    """Kalshi's documented ``sign_pss_text``."""
    return private.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )


def test_the_documented_message() -> None:
    assert (
        signed_message(TIMESTAMP, "get", PATH) == b"1703123456789GET/trade-api/v2/portfolio/balance"
    )
    with_query = signed_message(TIMESTAMP, "GET", "/trade-api/v2/portfolio/orders?limit=5")
    assert with_query == b"1703123456789GET/trade-api/v2/portfolio/orders"


def test_rsa_pss_sha256_with_a_digest_long_salt_verifies() -> None:
    private = rsa.generate_private_key(public_exponent=65_537, key_size=2_048)
    message = signed_message(TIMESTAMP, "GET", PATH)
    signature = base64.b64decode(base64.b64encode(kalshi_rsa_sign(private, message)))
    assert verify_signature(private.public_key(), message, signature)
    # another message, another key, another salt length, another padding: all refused
    assert not verify_signature(private.public_key(), message + b"x", signature)
    other = rsa.generate_private_key(public_exponent=65_537, key_size=2_048)
    assert not verify_signature(other.public_key(), message, signature)
    long_salt = private.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    assert not verify_signature(private.public_key(), message, long_salt)
    pkcs1 = private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert not verify_signature(private.public_key(), message, pkcs1)


def test_ed25519_verifies() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    message = signed_message(TIMESTAMP, "POST", "/trade-api/v2/portfolio/events/orders")
    signature = private.sign(message)
    assert verify_signature(private.public_key(), message, signature)
    assert not verify_signature(private.public_key(), message.replace(b"POST", b"GET"), signature)
    assert not verify_signature(
        private.public_key(), message, bytes([signature[0] ^ 1]) + signature[1:]
    )


def test_only_rsa_of_2048_bits_or_ed25519_public_keys_are_accepted() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def pem(key: object) -> str:
        return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    small = rsa.generate_private_key(public_exponent=65_537, key_size=1_024).public_key()
    for bad in (pem(small), pem(ec.generate_private_key(ec.SECP256R1()).public_key()), "x", ""):
        try:
            load_public_key(bad)
        except ValueError:
            continue
        raise AssertionError("accepted a key it must refuse")
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    assert load_public_key(pem(ed))[0] == "ed25519"


def test_a_signature_is_accepted_once_within_the_window() -> None:
    replays = Replays(window_ms=1_000, size_max=3)
    assert not replays.seen(b"a")
    assert replays.first(b"a", 10_000)
    assert replays.seen(b"a") and not replays.seen(b"b")
    assert not replays.first(b"a", 10_500)
    assert replays.first(b"b", 10_600)
    # past twice the window the oldest is forgotten (its timestamp is stale by then)
    assert replays.first(b"a", 12_100)
