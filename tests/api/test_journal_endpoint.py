"""The journal endpoint serves the head and the key that signs checkpoints."""

from __future__ import annotations

from augury.journal.signing import load_or_create_key, public_key_hex
from tests.api.conftest import Server


def test_journal_endpoint_serves_the_operator_public_key(server: Server) -> None:
    answer = server.client().get("/journal")
    assert answer.status_code == 200
    body = answer.json()
    key = load_or_create_key(server.data_dir / "operator.key")
    assert body["public_key"] == public_key_hex(key)
    assert body["signature_algorithm"] == "ed25519"
    assert body["head_seq"] >= 1  # the admin account was journaled on first start
    assert len(bytes.fromhex(body["head_hash"])) == 32
