"""Orders through the Kalshi facade beside Augury's own ``POST /api/v1/orders``, same run.

Usage: .venv/bin/python bench/kalshi.py [--clients N] [--seconds S] [--warmup S]
       [--repeat R] [--key-type ed25519|rsa]

One server (``bench/service.py``'s: the app of ``augury serve``, rate limits off, SQLite,
system clock) and one book-only binary market with a tick of 0.01. Each client is a
trader with one API key that has a public key too: Ed25519 by default (signing costs the
load generator little), or RSA 2048 (``--key-type rsa``, Kalshi's default: cheaper for
the server to verify on this machine, dearer for the load generator to sign). The two
targets take turns, ``--repeat`` times each:

* ``augury``: ``POST /api/v1/orders`` with ``X-API-Key``, buy YES or buy NO at 0.50
  alternating (``bench/service.py``'s orders);
* ``kalshi``: ``POST /trade-api/v2/portfolio/events/orders``, signed, ``bid`` or ``ask``
  at 0.50 alternating: the same command (``PlaceOrder``) once the facade has checked
  the signature and read the account's holdings (an ask sells YES held, else buys NO).

Clients are raw HTTP/1.1 keep-alive connections in one asyncio loop, closed loop. Prints
one JSON line per measurement (``ops_per_s``, ``p50_ms``, ``p99_ms``,
``server_cpu_us_per_op``, the whole server's; ``server_loop_cpu_us_per_op``, its event
loop thread's, where the HTTP work of either route is done (the engine's, the journal's
and the projector's threads and processes cost less per order the more orders a group
commit holds, so the whole server's figure also moves with the rate);
``loadgen_cpu_us_per_op``, what this process spent per order, signing included, on the
same cores as the server; ``load_1m``, the machine's load average as it began), then a
summary with the medians and the facade's ratio to Augury's own route (the issue's goal:
within 15%).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from augury.api.kalshi import mapping
from service import BUILD, PASSWORD, PG_DSN_DEFAULT, Server, per_op_us, percentiles_ms

KALSHI_PATH = "/trade-api/v2/portfolio/events/orders"
AUGURY_PATH = "/api/v1/orders"


def loop_cpu_s(server: Server) -> float:
    """CPU seconds of the server's main thread (uvicorn's event loop), from /proc."""
    pid = server.process.pid
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Trader:
    def __init__(
        self, key: str, key_id: str, private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ) -> None:
        self.key, self.key_id, self.private = key, key_id, private
        self.last_ms = 0

    def kalshi_headers(self) -> str:
        # Ed25519 is deterministic: one millisecond per request, or it would be a replay
        now = max(time.time_ns() // 1_000_000, self.last_ms + 1)
        self.last_ms = now
        stamp = str(now)
        message = (stamp + "POST" + KALSHI_PATH).encode()
        if isinstance(self.private, rsa.RSAPrivateKey):
            pss = padding.PSS(
                mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH
            )
            signature = self.private.sign(message, pss, hashes.SHA256())
        else:
            signature = self.private.sign(message)
        return (
            f"KALSHI-ACCESS-KEY: {self.key_id}\r\nKALSHI-ACCESS-TIMESTAMP: {stamp}\r\n"
            f"KALSHI-ACCESS-SIGNATURE: {base64.b64encode(signature).decode()}\r\n"
        )


def setup(server: Server, clients: int, key_type: str = "ed25519") -> tuple[str, list[Trader]]:
    api = server.base_url + "/api/v1"
    with httpx.Client(base_url=api, timeout=30) as admin:
        login = {"username": "admin", "password": server.admin_password}
        response = admin.post("/auth/login", json=login)
        response.raise_for_status()
        admin.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        market = f"bench-{uuid.uuid4().hex[:8]}"
        body = {
            "id": market,
            "question": "Bench?",
            "close_time": "2099-01-01T00:00:00Z",
            "tick_size": "0.01",
        }
        admin.post("/markets", json=body).raise_for_status()
    traders = []
    for _ in range(clients):
        username = f"k{uuid.uuid4().hex[:12]}"
        private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey = (
            rsa.generate_private_key(public_exponent=65_537, key_size=2_048)
            if key_type == "rsa"
            else ed25519.Ed25519PrivateKey.generate()
        )
        public_pem = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        with httpx.Client(base_url=api, timeout=30) as client:
            credentials = {"username": username, "password": PASSWORD}
            client.post("/auth/register", json=credentials).raise_for_status()
            response = client.post("/auth/login", json=credentials)
            response.raise_for_status()
            client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
            body = {"name": "bench", "scopes": ["trade", "read"], "public_key": public_pem}
            created = client.post("/auth/api-keys", json=body)
            created.raise_for_status()
            traders.append(Trader(created.json()["key"], created.json()["id"], private))
    return market, traders


class Connection:
    """A minimal HTTP/1.1 keep-alive POST client (as ``bench/service.py``'s RawClient)."""

    def __init__(self, base_url: str) -> None:
        self.host, port = base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, headers: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", header)
        assert found, header
        return int(header[9:12]), await self.reader.readexactly(int(found.group(1)))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def bodies(target: str, market: str) -> list[bytes]:
    if target == "augury":
        found: list[dict[str, Any]] = [
            {"market": market, "side": "buy", "token": token, "price": "0.5", "qty": "1"}
            for token in ("yes", "no")
        ]
    else:
        ticker = mapping.ticker_of(market)
        found = [
            {
                "ticker": ticker,
                "side": side,
                "count": "1",
                "price": "0.50",
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "maker",
            }
            for side in ("bid", "ask")
        ]
    return [json.dumps(b, separators=(",", ":")).encode() for b in found]


async def measure(
    server: Server, target: str, market: str, traders: list[Trader], warmup_s: float, seconds: float
) -> dict[str, Any]:
    path = AUGURY_PATH if target == "augury" else KALSHI_PATH
    payloads = bodies(target, market)
    latencies: list[float] = []
    errors: list[str] = []
    cpu: list[float] = []

    async def loop(trader: Trader, start: float, stop: float) -> None:
        connection = Connection(server.base_url)
        i = 0
        try:
            while (sent := time.perf_counter()) < stop:
                headers = (
                    f"X-API-Key: {trader.key}\r\n"
                    if target == "augury"
                    else trader.kalshi_headers()
                )
                status, content = await connection.post(path, headers, payloads[i % 2])
                done = time.perf_counter()
                i += 1
                if status != 201:
                    errors.append(f"{status} {content[:200]!r}")
                elif sent >= start:
                    latencies.append(done - sent)
        finally:
            connection.close()

    loop_cpu: list[float] = []
    loadgen_cpu: list[float] = []

    async def sample(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        cpu.append(server.cpu_s())
        loop_cpu.append(loop_cpu_s(server))
        loadgen_cpu.append(time.process_time())  # this process: the clients and signing

    load_1m = os.getloadavg()[0]
    now = time.perf_counter()
    start, stop = now + warmup_s, now + warmup_s + seconds
    await asyncio.gather(sample(start), sample(stop), *(loop(t, start, stop) for t in traders))
    count = len(latencies)
    return {
        "target": target,
        "build": BUILD,
        "clients": len(traders),
        "ops": count,
        "ops_per_s": round(count / seconds),
        **percentiles_ms(latencies),
        "server_cpu_us_per_op": per_op_us(cpu[0], cpu[1], count),
        "server_loop_cpu_us_per_op": per_op_us(loop_cpu[0], loop_cpu[1], count),
        "loadgen_cpu_us_per_op": per_op_us(loadgen_cpu[0], loadgen_cpu[1], count),
        "load_1m": round(load_1m, 2),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--key-type", choices=("ed25519", "rsa"), default="ed25519")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="augury-bench-kalshi-") as workdir:
        server = Server("sqlite", Path(workdir), PG_DSN_DEFAULT)
        try:
            market, traders = setup(server, args.clients, args.key_type)
            rows: dict[str, list[dict[str, Any]]] = {"augury": [], "kalshi": []}
            for _ in range(args.repeat):
                for target in ("augury", "kalshi"):
                    row = asyncio.run(
                        measure(server, target, market, traders, args.warmup, args.seconds)
                    )
                    rows[target].append(row)
                    print(json.dumps(row), flush=True)
        finally:
            server.stop()
    summary: dict[str, Any] = {
        "summary": True,
        "build": BUILD,
        "clients": args.clients,
        "key_type": args.key_type,
    }
    for target, found in rows.items():
        for field in (
            "ops_per_s",
            "p50_ms",
            "p99_ms",
            "server_cpu_us_per_op",
            "server_loop_cpu_us_per_op",
            "loadgen_cpu_us_per_op",
        ):
            values = [r[field] for r in found if r[field] is not None]
            summary[f"{target}_{field}"] = statistics.median(values) if values else None
    if summary["augury_ops_per_s"]:
        ratio = summary["kalshi_ops_per_s"] / summary["augury_ops_per_s"]
        summary["kalshi_to_augury_ops"] = round(ratio, 3)
        summary["within_15_percent"] = ratio >= 0.85
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
