"""Issue 18, "also check": session fixation, logout, cookie flags, the security headers of
the HTML pages (a CSP without 'unsafe-inline') and the size limit of every body."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from augury.web import pages, vendor

from .conftest import PASSWORD, Server, assert_problem
from .helpers import local_app

TEMPLATES = Path(pages.__file__).parent / "templates"
STATIC = Path(pages.__file__).parent / "static"


def _session_cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("augury_session="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(response.headers)


def test_a_login_starts_a_new_session_and_ends_the_one_sent(any_server: Server) -> None:
    server = any_server
    username, first = server.user("fx")
    old = first.cookies["augury_session"]
    assert first.get("/auth/me").status_code == 200  # in the cache now
    again = first.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert again.status_code == 200
    new = _session_cookie(again)
    assert new != old
    stale = server.client(cookies={"augury_session": old})
    assert_problem(stale.get("/auth/me"), 401, "unauthorized")
    assert server.client(cookies={"augury_session": new}).get("/auth/me").status_code == 200

    # a value planted before the login (fixation) is never the session afterwards
    planted = server.client(cookies={"augury_session": "planted-by-someone-else"})
    login = planted.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert _session_cookie(login) != "planted-by-someone-else"


def test_logout_ends_the_session_on_the_server(any_server: Server) -> None:
    server = any_server
    username, client = server.user("lo")
    token = client.cookies["augury_session"]
    assert client.get("/auth/me").status_code == 200  # warm the cache
    assert client.post("/auth/logout").status_code == 204
    replay = server.client(cookies={"augury_session": token})
    assert_problem(replay.get("/auth/me"), 401, "unauthorized")
    assert username


def test_cookie_flags_in_development(server: Server) -> None:
    username, _ = server.user("ck")
    login = server.client().post("/auth/login", json={"username": username, "password": PASSWORD})
    session, csrf = _cookies(login)
    assert {"httponly", "samesite=lax", "path=/"} <= session
    assert "secure" not in session  # plain HTTP in development
    assert "httponly" not in csrf and "samesite=lax" in csrf


def _cookies(response: httpx.Response) -> tuple[set[str], set[str]]:
    found: dict[str, set[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name] = {part.strip().lower() for part in rest.split(";")[1:]}
    return found["augury_session"], found["augury_csrf"]


def test_cookie_flags_in_production(tmp_path: Path) -> None:
    services, app, passwords = local_app(
        tmp_path,
        mode="production",
        secret_key="s" * 48,
        clock="system",
        start=None,
        projector="thread",
        surveillance=False,
    )

    async def run() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t/api/v1") as client:
            body = {"username": "admin", "password": passwords[0]}
            login = await client.post("/auth/login", json=body)
            csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
            return login, await client.post("/auth/logout", headers=csrf)

    try:
        login, logout = asyncio.run(run())
    finally:
        services.stop()
    session, csrf = _cookies(login)
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= session
    assert {"secure", "samesite=lax"} <= csrf and "httponly" not in csrf
    assert logout.status_code == 204
    session, csrf = _cookies(logout)  # the cookies that clear them are flagged the same
    assert {"httponly", "secure", "samesite=lax"} <= session and "secure" in csrf


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/scores", "/markets/nope"])
def test_html_pages_carry_the_security_headers(server: Server, path: str) -> None:
    page = httpx.get(server.base_url + path, timeout=30)
    assert page.status_code in (200, 404)
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"].startswith("'self'")
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_templates_and_scripts_need_no_inline_code_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert "<style" not in text, template.name
        assert not re.search(r"\sstyle\s*=", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name  # onclick= etc.
        assert "javascript:" not in text, template.name
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert not re.search(r"setAttribute\(\s*[\"']style|cssText|innerHTML", text), script.name


def test_the_chart_style_hash_matches_the_installed_library() -> None:
    path = vendor.node_modules() / vendor.VENDOR_FILES["lightweight-charts.js"]
    source = path.read_text()
    styles = re.findall(r'createElement\("style"\),this\.\w+\.innerText="([^"]*)"', source)
    assert len(styles) == 1 and source.count('createElement("style")') == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert digest == pages.CHART_STYLE_SHA256


BIG = 64 * 1024 + 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/password",
        "/api/v1/auth/api-keys",
        "/api/v1/orders",
        "/api/v1/markets",
        "/web/lint-spec",
    ],
)
def test_every_body_is_limited(server: Server, path: str) -> None:
    _, session = server.user("big")
    headers = {"X-CSRF-Token": session.headers["X-CSRF-Token"]}
    client = httpx.Client(base_url=server.base_url, cookies=session.cookies, headers=headers)
    server.clients.append(client)
    declared = client.post(path, content=b"{" + b" " * BIG + b"}", headers=_json())
    assert_problem(declared, 413, "body_too_large")
    streamed = client.post(path, content=iter([b'{"a": "', b"x" * BIG, b'"}']), headers=_json())
    assert_problem(streamed, 413, "body_too_large")


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}


def test_a_websocket_frame_is_limited_before_it_is_buffered(server: Server) -> None:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    with connect(url, open_timeout=10, max_size=None) as ws:
        ws.send("x" * 1_000_000)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # too big
