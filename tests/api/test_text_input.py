"""Free text over the real HTTP API: refused characters, and what accepted text becomes.

Every free-text field of every request body (``augury.api.text``) refuses control
characters, DEL, C1 controls, bidirectional overrides and isolates and lone surrogates
with 422 ``invalid_characters`` naming the field, and nothing is stored: the journal's
head, the users and the API keys are as before. A one-line field also refuses tab and
line breaks; a multi-line one takes them (CRLF stored as LF). Accepted text is stored
in NFC.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.api.conftest import START, Server, assert_problem, start_server
from tests.api.helpers import CLOSE, create_market

MARKET = "txt-m"
ALL_ROLES = ["trader", "market_creator", "resolver", "arbiter", "admin"]
SPEC: dict[str, Any] = {
    "sources": [
        {
            "kind": "http_json",
            "id": "s1",
            "owner": "Some Agency",
            "url": "https://example.com/x.json",
            "path": "$.winner",
            "expect": [{"outcome": 0, "value": "yes"}, {"outcome": 1, "value": "no"}],
        }
    ],
    "observation_at_us": 1_782_000_000_000_000,
    "quorum": 1,
}
ATTESTATION = {"source_id": "s1", "statement": "yes", "signed_at": START, "signature": "ab" * 64}

# (method, path, a valid body, where the text goes, one line?)
Where = tuple[str | int, ...]
FIELDS: list[tuple[str, str, dict[str, Any], Where, bool]] = [
    ("POST", "/auth/register", {"password": "long enough password"}, ("username",), True),
    ("POST", "/auth/login", {"password": "long enough password"}, ("username",), True),
    ("POST", "/auth/api-keys", {"scopes": ["read"]}, ("name",), True),
    ("POST", "/auth/api-keys", {"name": "k", "scopes": ["read"]}, ("public_key",), False),
    *[
        ("POST", "/markets", {"question": "Q?", "close_time": CLOSE}, (field,), one_line)
        for field, one_line in (
            ("id", True),
            ("question", True),
            ("category", True),
            ("description", False),
            ("rules", False),
            ("affiliated_trading_reason", True),
        )
    ],
    (
        "POST",
        "/markets",
        {"question": "Q?", "close_time": CLOSE, "type": "categorical", "outcomes": ["a", "b", "c"]},
        ("outcomes", 1),
        True,
    ),
    (
        "POST",
        "/markets",
        {"question": "Q?", "close_time": CLOSE, "resolution_spec": SPEC},
        ("resolution_spec", "sources", 0, "owner"),
        False,
    ),
    ("POST", f"/markets/{MARKET}/halt", {}, ("reason",), True),
    ("POST", "/webhooks", {}, ("url",), True),
    ("POST", "/webhooks", {"url": "https://hooks.example.org/x"}, ("secret",), True),
    ("POST", f"/markets/{MARKET}/resume", {}, ("reason",), True),
    (
        "POST",
        "/orders",
        {"market": MARKET, "side": "buy", "price": "0.5", "qty": "1"},
        ("client_order_id",),
        True,
    ),
    ("POST", "/orders", {"side": "buy", "price": "0.5", "qty": "1"}, ("market",), True),
    ("POST", "/orders/1/amend", {"price": "0.5", "qty": "1"}, ("client_order_id",), True),
    ("POST", "/orders/preview", {"side": "buy", "qty": "1"}, ("market",), True),
    ("POST", "/orders/cancel-all", {}, ("market",), True),
    ("POST", "/admin/grants", {"account": "admin", "amount": "1"}, ("memo",), True),
    ("POST", "/admin/grants", {"amount": "1"}, ("account",), True),
    ("POST", f"/markets/{MARKET}/spec", {"spec": SPEC}, ("reason",), True),
    ("POST", f"/markets/{MARKET}/spec", {"spec": SPEC}, ("spec", "sources", 0, "url"), False),
    (
        "POST",
        "/resolution/lint",
        {"spec": SPEC, "close_time": CLOSE, "outcomes": ["Yes", "No"]},
        ("outcomes", 0),
        True,
    ),
    (
        "POST",
        "/resolution/lint",
        {"spec": SPEC, "close_time": CLOSE},
        ("spec", "sources", 0, "expect", 1, "value"),
        False,
    ),
    ("POST", f"/markets/{MARKET}/proposals", {"outcome": 0, "bond": "100"}, ("reason",), True),
    ("POST", f"/markets/{MARKET}/disputes", {"bond": "100"}, ("reason",), True),
    ("POST", f"/markets/{MARKET}/votes", {"outcome": 0}, ("reason",), True),
    ("POST", f"/markets/{MARKET}/clarifications", {}, ("text",), False),
    *[
        ("POST", f"/markets/{MARKET}/attestations", ATTESTATION, (field,), one_line)
        for field, one_line in (("source_id", True), ("statement", False), ("signed_at", False))
    ],
    ("POST", "/me/affiliations", {}, ("organization",), True),
    ("POST", "/admin/affiliations", {"account": "admin"}, ("organization",), True),
    ("POST", "/admin/affiliations", {"organization": "Org"}, ("account",), True),
    ("POST", f"/markets/{MARKET}/resolve", {"outcome": 0}, ("reason",), True),
    ("POST", f"/markets/{MARKET}/void", {}, ("reason",), True),
    ("POST", "/alerts/1/review", {"verdict": "dismiss"}, ("note",), True),
]

REFUSED_EVERYWHERE = {
    "NUL": "\x00",
    "BEL": "\x07",
    "BS": "\x08",
    "VT": "\x0b",
    "lone CR": "\r",
    "ESC": "\x1b",
    "US": "\x1f",
    "DEL": "\x7f",
    "PAD (C1)": "\x80",
    "NEL (C1)": "\x85",
    "CSI (C1)": "\x9b",
    "APC (C1)": "\x9f",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
}
REFUSED_IN_ONE_LINE = {
    "LF": "\n",
    "TAB": "\t",
    "CRLF": "\r\n",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
}


@pytest.fixture(scope="module")
def text_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, so that nothing else moves its journal during a check."""
    data_dir: Path = tmp_path_factory.mktemp("api-text") / "data"
    # Rate limits off: the checks send hundreds of requests from one address in seconds,
    # and a 429 instead of the answer under test would hide what is checked.
    no_limits = {"AUGURY_RATE_LIMIT_IP_PER_S": "0", "AUGURY_RATE_LIMIT_KEY_PER_S": "0"}
    running = start_server(
        data_dir, "--clock", "simulated", "--start", START, startup_s=120, env=no_limits
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def admin(text_server: Server) -> httpx.Client:
    """The admin with every role, and a market to aim the requests at."""
    client = text_server.admin()
    response = client.put("/admin/users/admin/roles", json={"roles": ALL_ROLES})
    assert response.status_code == 200, response.text
    create_market(client, id=MARKET, liquidity="10")
    return client


def _put(body: dict[str, Any], where: Where, value: str) -> dict[str, Any]:
    """A deep copy of ``body`` with ``value`` at ``where`` (keys and list indexes)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    node: Any = copy
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    return copy


def _send(client: httpx.Client, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    # json.dumps escapes a lone surrogate as \ud800 (httpx's json= could not encode it)
    return client.request(
        method,
        path,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
    )


def _stored(client: httpx.Client) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the journal, the users, the keys."""
    head = client.get("/journal").json()["head_seq"]
    users = client.get("/admin/users", params={"limit": 200}).json()
    keys = client.get("/auth/api-keys").json()
    return head, users, keys


def _named(where: Where) -> str:
    """How the detail names a field: ``outcomes.1``, or ``spec: $.sources[0].url``."""
    if where[0] in ("spec", "resolution_spec"):
        inside = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in where[1:])
        return f"{where[0]}: ${inside}"
    return ".".join(map(str, where))


def _cases() -> Iterator[Any]:
    for method, path, body, where, one_line in FIELDS:
        refused = {**REFUSED_EVERYWHERE, **(REFUSED_IN_ONE_LINE if one_line else {})}
        for name, char in refused.items():
            label = f"{path}:{'.'.join(map(str, where))}:{name}"
            yield pytest.param(method, path, body, where, char, id=label)


@pytest.mark.parametrize(("method", "path", "body", "where", "char"), list(_cases()))
def test_a_refused_character_is_refused_and_nothing_is_stored(
    admin: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any],
    where: Where,
    char: str,
) -> None:
    before = _stored(admin)
    response = _send(admin, method, path, _put(body, where, f"ab{char}cd"))
    problem = assert_problem(response, 422, "invalid_characters")
    assert problem["detail"].startswith(f"{_named(where)}: contains U+{ord(char[0]):04X} ")
    assert _stored(admin) == before


def test_every_text_field_of_every_request_body_is_covered() -> None:
    """FIELDS names each free-text field of the OpenAPI document's request bodies."""
    from augury.api import create_app
    from augury.settings import Settings

    document = create_app(Settings()).openapi()
    schemas = document["components"]["schemas"]
    bodies = [
        (method.upper(), path.removeprefix("/api/v1"), op["requestBody"]["content"])
        for path, item in document["paths"].items()
        for method, op in item.items()
        if "requestBody" in op
    ]
    found = set()
    for method, path, content in bodies:
        schema = content["application/json"]["schema"]
        ref = schema.get("$ref") or next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
        properties = schemas[ref.rsplit("/", 1)[1]]["properties"]
        found |= {(method, path, n) for n, p in properties.items() if _is_text(p)}
    covered = {(m, _template(p), w[0]) for m, p, _, w, _ in FIELDS}
    # passwords are taken as sent (only their hash is stored)
    password_fields = ("password", "current_password", "new_password")
    passwords = {(m, p, n) for m, p, n in found if n in password_fields}
    assert len(found) > 30 and len(passwords) == 4
    assert found - passwords == covered


def _template(path: str) -> str:
    path = path.replace(MARKET, "{market}").replace("/alerts/1/", "/alerts/{alert_id}/")
    return path.replace("/orders/1/", "/orders/{order_id}/")


def _is_text(prop: dict[str, Any]) -> bool:
    """A free string (no enum, instant, amount or hex pattern), a list of them, or a JSON
    object (a spec)."""
    for option in prop.get("anyOf", [prop]):
        kind, pattern = option.get("type"), option.get("pattern", "")
        if kind == "string":
            if "enum" in option or "const" in option or option.get("format") == "date-time":
                continue
            if pattern.startswith(("^\\d", "^-?\\d", "^[0-9a-fA-F]")):
                continue
            return True
        if kind == "array" and _is_text(option["items"]):
            return True
        if kind == "object":
            return True
    return False


def test_text_is_stored_in_nfc_with_lf(admin: httpx.Client) -> None:
    decomposed, composed = "Cafe\u0301 cre\u0300me", "Caf\u00e9 cr\u00e8me"
    market = create_market(
        admin,
        type="categorical",
        question=f"{decomposed}?",
        description=f"one\r\ntwo\tthree {decomposed}",
        rules=f"first\nsecond {decomposed}",
        category=decomposed,
        outcomes=[decomposed, "b", "c"],
    )
    found = admin.get(f"/markets/{market['id']}").json()
    assert found["question"] == f"{composed}?"
    assert found["description"] == f"one\ntwo\tthree {composed}"
    assert found["rules"] == f"first\nsecond {composed}"
    assert found["category"] == composed
    assert found["outcomes"][0] == composed

    response = admin.post(
        f"/markets/{market['id']}/clarifications", json={"text": f"{decomposed}\r\nmore"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["clarification"]["text"] == f"{composed}\nmore"

    response = admin.post("/auth/api-keys", json={"name": decomposed, "scopes": ["read"]})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == composed

    response = admin.post("/me/affiliations", json={"organization": f"Institut {decomposed}"})
    assert response.status_code == 200, response.text
    assert f"Institut {composed}" in response.json()["organizations"]


def test_bidi_marks_and_other_scripts_are_text(admin: httpx.Client) -> None:
    """Only the listed characters are refused: marks, emoji, CJK and RTL text are fine."""
    hebrew, arabic = "\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627"
    chinese = "\u4f60\u597d"
    question = f"{hebrew} \u200f{arabic} {chinese} \U0001f600 \u200d?"  # RLM, ZWJ
    market = create_market(admin, question=question)
    assert admin.get(f"/markets/{market['id']}").json()["question"] == question


def test_nfc_is_measured_after_normalizing(admin: httpx.Client) -> None:
    """A length limit counts the stored (NFC) characters: 200 decomposed é fit in 200."""
    response = _send(
        admin,
        "POST",
        "/admin/grants",
        {"account": "admin", "amount": "1", "memo": "e\u0301" * 200},
    )
    assert response.status_code == 201, response.text


def test_the_web_linter_takes_the_same_text(text_server: Server, admin: httpx.Client) -> None:
    """``POST /web/lint-spec`` (the create form's linter, outside the API) checks alike."""
    web = httpx.Client(
        base_url=text_server.base_url,
        cookies=admin.cookies,
        headers={"X-CSRF-Token": admin.headers["X-CSRF-Token"]},
    )
    with web:
        body = {"spec": SPEC, "close_time": CLOSE, "outcomes": ["Yes", "No\x07"]}
        assert_problem(web.post("/web/lint-spec", json=body), 422, "invalid_characters")
        bidi = _put(SPEC, ("sources", 0, "id"), "s\u202e1")
        body = {**body, "spec": bidi, "outcomes": ["a", "b"]}
        assert_problem(web.post("/web/lint-spec", json=body), 422, "invalid_characters")
        body = {"spec": SPEC, "close_time": CLOSE, "outcomes": ["Yes", 5]}
        assert_problem(web.post("/web/lint-spec", json=body), 422, "validation_error")


def test_signed_text_is_checked_but_kept_as_sent() -> None:
    """An attestation's statement is signed: NFC or LF would break its signature."""
    from augury.api.resolution_models import AttestationBody

    sent = {**ATTESTATION, "statement": "Cafe\u0301\r\nyes"}
    assert AttestationBody.model_validate(sent).statement == "Cafe\u0301\r\nyes"
    with pytest.raises(ValueError, match="U\\+0000"):
        AttestationBody.model_validate({**sent, "statement": "a\x00"})


def test_a_deep_json_object_is_walked_without_recursion() -> None:
    from augury.api.text import text_tree

    deep: Any = "e\u0301"
    for _ in range(5_000):
        deep = [{"k": deep}]
    found: Any = text_tree({"root": deep})["root"]
    for _ in range(5_000):
        found = found[0]["k"]
    assert found == "\u00e9"


TARGETS = [
    ("/markets", {"q": "a{c}b"}),
    ("/markets", {"category": "a{c}b"}),
    ("/admin/users", {"q": "a{c}b"}),
    ("/admin/users", {"cursor": "a{c}b"}),
    ("/orders", {"market": "a{c}b"}),
    ("/portfolio/fills", {"market": "a{c}b"}),
    ("/alerts", {"detector": "a{c}b"}),
    ("/markets/a{c}b", {}),
    ("/markets/a{c}b/trades", {}),
    ("/scoring/traders/a{c}b", {}),
    ("/markets", {"a{c}b": "1"}),
]


@pytest.mark.parametrize(("path", "params"), TARGETS)
@pytest.mark.parametrize("char", ["\x00", "\x07", "\n", "\x85", "\u202e"])
def test_a_path_or_query_with_a_refused_character(
    any_server: Server, path: str, params: dict[str, str], char: str
) -> None:
    """Refused before any route runs (a NUL reached PostgreSQL, which cannot take one:
    a 500), with the parameter named; the same rule as a one-line text field."""
    admin = any_server.admin()
    encoded = quote(char, safe="")
    url = path.replace("{c}", encoded)
    query = {k.replace("{c}", char): v.replace("{c}", char) for k, v in params.items()}
    body = assert_problem(admin.get(url, params=query), 422, "invalid_characters")
    where = "path" if "{c}" in path else next(iter(params))
    if where == "path":
        assert body["detail"].startswith("path: contains U+"), body
    elif "{c}" in where:
        assert body["detail"].startswith("a query parameter's name: contains U+"), body
    else:
        assert body["detail"].startswith(f"query parameter '{where}': contains U+"), body
    assert f"U+{ord(char):04X}" in body["detail"]


def test_a_web_page_path_with_a_nul_is_refused(any_server: Server) -> None:
    response = httpx.get(any_server.base_url + "/markets/a%00b")
    assert_problem(response, 422, "invalid_characters")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_text_in_a_query_is_still_text(any_server: Server) -> None:
    admin = any_server.admin()
    response = admin.get("/markets", params={"q": "Caf\u00e9 \u05e9\u05dc\u05d5\u05dd"})
    assert response.status_code == 200, response.text
