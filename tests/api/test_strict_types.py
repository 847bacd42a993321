"""Request bodies are strict: no number is taken for a boolean, no string for a number.

Regression tests for the probe's finding (``"affiliated": 1`` was taken as true) and for
its twin on an order (``"outcome": "0"`` was taken as 0), end to end and with nothing
stored; then every integer and boolean field of every request body in the OpenAPI
document, refused when sent as another JSON type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from augury.api import create_app
from augury.settings import Settings
from tests.api.conftest import Server, assert_problem
from tests.api.helpers import create_market

DOCUMENT = create_app(Settings()).openapi()


def _organizations(client: httpx.Client, organization: str) -> list[str]:
    """Declare ``organization``; the account's organizations afterwards."""
    response = client.post("/me/affiliations", json={"organization": organization})
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["organizations"]
    return found


@pytest.mark.parametrize("affiliated", [1, 0, "true", "false", "yes", None])
def test_an_affiliation_takes_only_a_boolean(server: Server, affiliated: Any) -> None:
    _, trader = server.user("aff")
    response = trader.post(
        "/me/affiliations", json={"organization": "Refused Agency", "affiliated": affiliated}
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["detail"].startswith("affiliated: "), body
    assert _organizations(trader, "Other Agency") == ["Other Agency"]


def test_an_order_takes_only_numbers_for_numbers(server: Server) -> None:
    admin = server.admin()
    market = create_market(admin, liquidity="100")["id"]
    _, trader = server.user("ord")
    order = {"market": market, "side": "buy", "price": "0.4", "qty": "1"}
    for field, value in (
        ("outcome", "0"),
        ("outcome", 0.0),
        ("outcome", True),
        ("post_only", 0),
        ("post_only", "false"),
    ):
        response = trader.post("/orders", json={**order, field: value})
        body = assert_problem(response, 422, "validation_error")
        assert body["detail"].startswith(f"{field}: "), body
    assert trader.get("/orders").json()["items"] == []
    assert trader.post("/orders", json={**order, "outcome": 0}).status_code == 201


def _typed_fields() -> Iterator[tuple[str, str, str, str]]:
    """(method, path, field, JSON type) of every integer or boolean body field."""
    schemas = DOCUMENT["components"]["schemas"]
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            ref = schema.get("$ref") or next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
            for name, prop in schemas[ref.rsplit("/", 1)[1]]["properties"].items():
                kinds = {option.get("type") for option in prop.get("anyOf", [prop])}
                for kind in kinds & {"integer", "boolean"}:
                    yield method.upper(), path.removeprefix("/api/v1"), name, kind


TYPED = sorted(_typed_fields())
WRONG = {"integer": ["1", "0", 1.0, True, False], "boolean": [1, 0, "true", "false", "", 1.0]}


def test_the_document_has_the_fields_this_file_checks() -> None:
    assert ("POST", "/me/affiliations", "affiliated", "boolean") in TYPED
    assert ("POST", "/orders", "outcome", "integer") in TYPED
    assert ("POST", "/orders", "post_only", "boolean") in TYPED
    assert len(TYPED) >= 15


@pytest.mark.parametrize(("method", "path", "field", "kind"), TYPED)
def test_no_body_field_coerces_another_json_type(
    server: Server, method: str, path: str, field: str, kind: str
) -> None:
    """Each wrong value gets an error of its own at the field (the rest of the body may
    be wrong too: every error is listed). Path parameters are filled in by hand."""
    admin = server.admin()
    url = path.replace("{market}", "no-such-market").replace("{username}", "nobody")
    url = url.replace("{alert_id}", "1")
    for value in WRONG[kind]:
        response = admin.request(method, url, json={field: value})
        body = assert_problem(response, 422, "validation_error")
        at_field = [e for e in body["errors"] if e["loc"] == ["body", field]]
        assert at_field and at_field[0]["type"] in ("int_type", "bool_type"), (value, body)
