"""Fixtures for the evidence tests: a real local HTTP(S) server whose answers a test can
change while it runs, a fake resolver, an evidence store and the war-map GeoJSON layers."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from augury.evidence.sandbox import ReaderLimits, ReaderPool
from augury.evidence.store import EvidenceStore

T = TypeVar("T")

# The package re-exports the function ``fetch``, which hides the module of that name.
fetch_module = importlib.import_module("augury.evidence.fetch")


def run(coro: Awaitable[T]) -> T:
    """Run one coroutine on a fresh event loop (closed afterwards)."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait this long before answering."""
    content_length: bool = True
    """Send Content-Length (else the body ends when the connection closes)."""
    trickle_s: float = 0.0
    """Send the body one byte at a time with this pause between bytes."""


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close joins every handler thread

    def __init__(self, fixture: FixtureServer) -> None:
        self.fixture = fixture
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up (timeouts, too_large) reset the connection


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fx = self.server.fixture
        fx.requests.append((self.path, dict(self.headers.items())))
        route = fx.routes.get(self.path, Route(404, b"not found"))
        if route.delay_s and fx.stopping.wait(route.delay_s):
            return
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.content_length:
            self.send_header("Content-Length", str(len(route.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if route.trickle_s:
            for i in range(len(route.body)):
                self.wfile.write(route.body[i : i + 1])
                self.wfile.flush()
                if fx.stopping.wait(route.trickle_s):
                    return
        else:
            self.wfile.write(route.body)


class FixtureServer:
    """A threaded HTTP server on 127.0.0.1; set ``routes[path]`` to change its answers."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self._server = _Server(self)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def set(self, path: str, body: bytes = b"", status: int = 200, **kw: Any) -> str:
        self.routes[path] = Route(status, body, **kw)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.set(path, b"", status, headers={"Location": location})

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    s = FixtureServer()
    yield s
    s.close()


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


# --- a fake resolver (for names and for DNS failures) ---------------------------------


class FakeDns:
    """Names resolved by the test; anything else goes to the real resolver."""

    def __init__(self, real: Callable[[str, int], Awaitable[list[str]]]) -> None:
        self.names: dict[str, list[str] | Exception] = {}
        self.calls: list[str] = []
        self._real = real

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answer = self.names.get(host)
        if answer is None:
            return await self._real(host, port)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(fetch_module._getaddrinfo)
    monkeypatch.setattr(fetch_module, "_getaddrinfo", fake)
    return fake


# --- TLS: a throwaway CA-less self-signed certificate ----------------------------------


@dataclass
class Tls:
    server: FixtureServer
    client_context: ssl.SSLContext


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[Tls]:
    """An HTTPS server whose certificate names ``pinned.test`` (and 127.0.0.1)."""
    cert, key = _self_signed(tmp_path, "pinned.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    s = FixtureServer(tls=server_ctx)
    yield Tls(s, client_ctx)
    s.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- the war map ------------------------------------------------------------------------

MYRNOHRAD = (37.23, 48.30)
POKROVSK = (37.18, 48.28)


def _square(lon: float, lat: float, r: float = 0.02) -> dict[str, Any]:
    ring = [
        [lon - r, lat - r],
        [lon + r, lat - r],
        [lon + r, lat + r],
        [lon - r, lat + r],
        [lon - r, lat - r],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def war_map(myrnohrad: str = "A", pokrovsk: str = "B", **extra: Any) -> bytes:
    """The front-line layer: one polygon per town, ``controlled_by`` its side."""
    features = [
        {
            "type": "Feature",
            "properties": {"name": "Myrnohrad", "controlled_by": myrnohrad},
            "geometry": _square(*MYRNOHRAD),
        },
        {
            "type": "Feature",
            "properties": {"name": "Pokrovsk", "controlled_by": pokrovsk},
            "geometry": _square(*POKROVSK),
        },
    ]
    return json.dumps({"type": "FeatureCollection", "features": features, **extra}).encode()


@pytest.fixture(scope="session")
def readers() -> Iterator[ReaderPool]:
    """The reader worker processes (generous limits: the tests' machine is shared)."""
    pool = ReaderPool(ReaderLimits(timeout_s=60.0, workers=2))
    yield pool
    pool.close()
