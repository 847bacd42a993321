"""Ed25519 checks by libsodium (``auth.verify_signature``) and on the signature thread.

libsodium must say what RFC 8032 says (its test vectors) and what OpenSSL, which checked
these signatures before, says of valid and tampered ones; the thread must answer each
check its own answer, beside the event loop, one batch for the checks of one turn.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from augury.api.kalshi.auth import SIGNATURES, signed_message, verify_signature
from augury.api.kalshi.signature_thread import SignatureThread
from augury.api.public_keys import PublicKey

RFC8032 = [  # (public key, message, signature): section 7.1, tests 1 to 3
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
        "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da08"
        "5ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18"
        "ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def _openssl_says(key: ed25519.Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize(("public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(public: str, message: str, signature: str) -> None:
    key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    data, sig = bytes.fromhex(message), bytes.fromhex(signature)
    assert verify_signature(key, data, sig)
    assert not verify_signature(key, data + b"\x00", sig)
    assert not verify_signature(key, data, sig[:32] + bytes([sig[32] ^ 1]) + sig[33:])
    assert not verify_signature(key, data, sig[:-1])  # too short
    assert not verify_signature(key, data, sig + b"\x00")  # too long


def test_libsodium_agrees_with_openssl() -> None:
    for n in range(40):
        private = ed25519.Ed25519PrivateKey.generate()
        key = private.public_key()
        message = signed_message(str(1_703_123_456_789 + n), "POST", f"/trade-api/v2/x/{n}")
        signature = private.sign(message)
        flipped = bytearray(signature)
        flipped[n % 64] ^= 1 << (n % 8)
        other = ed25519.Ed25519PrivateKey.generate().public_key()
        for k, m, s in (
            (key, message, signature),
            (key, message, bytes(flipped)),
            (key, message[:-1], signature),
            (other, message, signature),
        ):
            assert verify_signature(k, m, s) == _openssl_says(k, m, s), (n, m, s)


def test_the_thread_answers_each_check_its_own_beside_the_loop() -> None:
    seen_threads: set[int] = set()

    def verify(key: PublicKey, message: bytes, signature: bytes) -> bool:
        seen_threads.add(threading.get_ident())
        if message == b"boom":
            raise ValueError("a bug in a check")
        return verify_signature(key, message, signature)

    thread = SignatureThread(verify)
    private = ed25519.Ed25519PrivateKey.generate()
    key = private.public_key()
    messages = [f"message {n}".encode() for n in range(20)]
    signatures = [private.sign(m) if n % 3 else b"\x00" * 64 for n, m in enumerate(messages)]

    async def run() -> list[bool | BaseException]:
        checks = [thread.verify(key, m, s) for m, s in zip(messages, signatures, strict=True)]
        return await asyncio.gather(
            *checks, thread.verify(key, b"boom", b""), return_exceptions=True
        )

    answers = asyncio.run(run())
    assert answers[:-1] == [n % 3 != 0 for n in range(20)]
    assert isinstance(answers[-1], ValueError)
    assert seen_threads and threading.get_ident() not in seen_threads
    assert thread.batches == 1  # the 21 checks of one turn of the loop went together
    assert asyncio.run(thread.verify(key, messages[1], signatures[1])) is True  # a new loop
    assert thread.batches == 2


def test_the_facades_thread_checks_ed25519() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    message = signed_message("1703123456789", "GET", "/trade-api/v2/portfolio/balance")
    good = asyncio.run(SIGNATURES.verify(private.public_key(), message, private.sign(message)))
    bad = asyncio.run(
        SIGNATURES.verify(private.public_key(), message + b"x", private.sign(message))
    )
    assert (good, bad) == (True, False)


def test_a_forked_child_starts_a_thread_of_its_own() -> None:
    """What ``os.register_at_fork`` runs in a child: the parent's thread is not there."""
    thread = SignatureThread(verify_signature)
    private = ed25519.Ed25519PrivateKey.generate()
    message = b"m"
    assert asyncio.run(thread.verify(private.public_key(), message, private.sign(message)))
    first = thread._thread
    thread._forked()
    assert thread._thread is None
    assert asyncio.run(thread.verify(private.public_key(), message, private.sign(message)))
    assert thread._thread is not None and thread._thread is not first
