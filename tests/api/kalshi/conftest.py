"""The real ``kalshi-python-sync`` client, in a venv of its own (it needs Python 3.13).

The venv is made once from a CPython 3.13 found on this machine (``AUGURY_PYTHON313``,
``python3.13`` on the PATH, or pyenv's versions under ``pyenv root``/``PYENV_ROOT``) in
a cache folder (``AUGURY_KALSHI_VENV``, else ``~/.cache/augury/kalshi-venv-<version>``),
with the client at exactly :data:`CLIENT_VERSION` and ``websockets``. Where no 3.13
exists, the tests that need it are skipped with one line saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.api.conftest import START, Server, assert_clean_exit, start_server

CLIENT_VERSION = "3.34.0"
STARTUP_S = 180.0
"""The facade's tests start their own server and give it longer to come up (the other
suites' servers share the machine's cores)."""
PYTHON_ENV = "AUGURY_PYTHON313"
VENV_ENV = "AUGURY_KALSHI_VENV"


def _pyenv_roots() -> list[Path]:
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            roots.append(Path(done.stdout.strip()))
    return roots


def find_python313() -> Path | None:
    """A CPython 3.13 interpreter, or None."""
    given = os.environ.get(PYTHON_ENV)
    if given:
        return Path(given)
    for root in _pyenv_roots():
        for candidate in sorted((root / "versions").glob("3.13*/bin/python3.13"), reverse=True):
            if candidate.exists():
                return candidate
    found = shutil.which("python3.13")
    if found is not None:
        done = subprocess.run([found, "--version"], capture_output=True, check=False)
        if done.returncode == 0:
            return Path(found)
    return None


def _venv_dir() -> Path:
    given = os.environ.get(VENV_ENV)
    if given:
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "augury" / f"kalshi-venv-{CLIENT_VERSION}"


@pytest.fixture(scope="session")
def kalshi_python() -> Path:
    """The venv's python, with kalshi-python-sync installed (made once, then reused)."""
    venv = _venv_dir()
    python = venv / "bin" / "python"
    marker = venv / f".kalshi-python-sync-{CLIENT_VERSION}"
    if marker.exists() and python.exists():
        return python
    base = find_python313()
    if base is None:
        pytest.skip("no Python 3.13 here (pyenv install 3.13): kalshi-python-sync needs it")
    subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            f"kalshi-python-sync=={CLIENT_VERSION}",
            "websockets",
        ],
        check=True,
    )
    marker.touch()
    return python


def rsa_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65_537, key_size=2_048)
    return _pems(private)


def ed25519_pair() -> tuple[str, str]:
    return _pems(ed25519.Ed25519PrivateKey.generate())


def _pems(private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> tuple[str, str]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@dataclass
class Trader:
    """A trader with an Augury session and a registered signing key."""

    username: str
    session: httpx.Client
    key_id: str
    private_pem: str


def signing_trader(server: Server, scopes: list[str] | None = None, kind: str = "rsa") -> Trader:
    username, session = server.user("k")
    private_pem, public_pem = rsa_pair() if kind == "rsa" else ed25519_pair()
    response = session.post(
        "/auth/api-keys",
        json={
            "name": "kalshi",
            "scopes": scopes or ["read", "trade", "admin"],
            "public_key": public_pem,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["key_type"] == kind
    return Trader(username, session, response.json()["id"], private_pem)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A SQLite server on simulated time for the facade's tests."""
    running = start_server(
        tmp_path_factory.mktemp("kalshi") / "data",
        "--clock",
        "simulated",
        "--start",
        START,
        startup_s=STARTUP_S,
    )
    yield running
    assert_clean_exit(running)


@pytest.fixture
def trader(server: Server) -> Iterator[Trader]:
    yield signing_trader(server)


def new_category() -> str:
    return f"Kalshi Test {uuid.uuid4().hex[:8]}"
