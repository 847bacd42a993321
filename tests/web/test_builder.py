"""The create page's resolution-spec builder (``static/builder.js``) in Chromium."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import WebServer
from tests.web.test_browser import log_in, shot

CLOSE = "2030-01-01T00:00"
CLOSE_US = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000


def _spec(page: Page) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(page.locator("#c-spec").input_value())
    return spec


def _source(page: Page, index: int) -> Locator:
    return page.locator("#spec-builder .b-source").nth(index)


def test_the_builder_writes_the_spec_and_creates_a_market(
    page: Page, web_server: WebServer
) -> None:
    log_in(page, "admin", web_server.admin_password)
    page.goto("/create")
    question = f"Will the builder's market open? {uuid.uuid4().hex[:6]}"
    page.get_by_label("Question").fill(question)
    page.get_by_label("Category").fill("testing")
    page.get_by_label("Closes (UTC)").fill(CLOSE)
    expect(page.get_by_label("Observation time (UTC)")).to_have_value(CLOSE)

    first = _source(page, 0)
    expect(first.locator("legend").first).to_have_text("Source 1")
    first.get_by_label("Kind").select_option("geojson")
    expect(first.get_by_label("JSON path")).to_be_hidden()
    first.get_by_label("Source id").fill("map")
    first.get_by_label("Owner (organization)").fill("Institute for Maps")
    first.get_by_label("URL").fill("https://maps.example.org/front.geojson")
    first.get_by_label("Longitude").fill("37.23")
    first.get_by_label("Latitude").fill("48.30")
    first.get_by_label("Place (optional)").fill("Myrnohrad")
    first.get_by_label("Property").fill("controlled_by")
    first.get_by_label("Yes", exact=True).fill("A")
    first.get_by_label("No", exact=True).fill("B")

    # keyboard: the Add source button works from the keyboard and moves the focus
    page.get_by_role("button", name="Add source").focus()
    page.keyboard.press("Enter")
    second = _source(page, 1)
    expect(second.get_by_label("Kind")).to_be_focused()
    second.get_by_label("Kind").select_option("http_json")
    second.get_by_label("Source id").fill("wire")
    second.get_by_label("Owner (organization)").fill("Wire Agency")
    second.get_by_label("URL").fill("https://api.wire.example.com/towns/myrnohrad")
    second.get_by_label("JSON path").fill("$.control.side")
    second.get_by_label("Yes", exact=True).fill("A")
    second.get_by_label("No", exact=True).fill("B")
    expect(page.get_by_label("Quorum (sources that must agree)")).to_have_value("2")

    spec = _spec(page)
    assert [(s["kind"], s["id"], s["owner"]) for s in spec["sources"]] == [
        ("geojson", "map", "Institute for Maps"),
        ("http_json", "wire", "Wire Agency"),
    ]
    assert spec["sources"][0]["at"] == {"lon": 37.23, "lat": 48.3, "place": "Myrnohrad"}
    assert spec["sources"][0]["property"] == "controlled_by"
    assert spec["sources"][1]["path"] == "$.control.side"
    expected = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]
    assert all(s["expect"] == expected for s in spec["sources"])
    assert spec["observation_at_us"] == CLOSE_US
    assert spec["quorum"] == 2
    assert spec["persistence"] == {"hours": 12}
    assert spec["fallback"] == {"kind": "hold"}
    assert spec["challenge_window_hours"] == 48

    page.get_by_role("button", name="Check the spec").click()
    expect(page.locator("#spec-findings li.ok")).to_have_text("The linter found nothing to fix.")
    expect(page.locator("#spec-findings li.error")).to_have_count(0)
    shot(page, "create-builder")
    page.get_by_role("button", name="Create market").click()
    expect(page.locator("h1")).to_have_text(question)
    expect(page.locator(".spec-words")).to_contain_text("2 of 2 sources agree")


def test_the_builder_keeps_a_hand_edit_until_touched_again(
    page: Page, web_server: WebServer
) -> None:
    log_in(page, "admin", web_server.admin_password)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/create")
    page.get_by_label("Closes (UTC)").fill(CLOSE)
    first = _source(page, 0)
    first.get_by_label("Owner (organization)").fill("Wire Agency")
    assert _spec(page)["sources"][0]["owner"] == "Wire Agency"
    first.get_by_label("Owner (organization)").press("Enter")  # does not submit the form
    expect(page.locator("#create-error")).to_be_hidden()
    assert page.url.endswith("/create")

    # a hand edit survives changes outside the builder (close time, outcomes)
    page.locator("#c-spec").fill('{"hand": "edited"}')
    page.get_by_label("Closes (UTC)").fill("2030-02-01T00:00")
    page.get_by_label("Categorical (one winner)").check()
    page.get_by_label("Outcomes, one per line (3–64)").fill("Red\nGreen\nBlue")
    assert _spec(page) == {"hand": "edited"}
    expect(page.get_by_label("Observation time (UTC)")).to_have_value("2030-02-01T00:00")
    expect(first.get_by_label("Green", exact=True)).to_be_visible()

    # touching the builder writes the JSON again, with the new outcomes and close time
    first.get_by_label("Blue", exact=True).fill("blue")
    spec = _spec(page)
    assert spec["sources"][0]["expect"] == [{"outcome": 2, "value": "blue"}]
    assert spec["observation_at_us"] == int(datetime(2030, 2, 1, tzinfo=UTC).timestamp()) * 10**6

    # the fallback's hours appear for "extend"; a user's quorum is kept; Remove works
    page.get_by_label("Fallback").select_option("extend")
    page.get_by_label("Extend by (hours)").fill("36")
    page.get_by_label("Quorum (sources that must agree)").fill("1")
    page.get_by_role("button", name="Add source").click()
    _source(page, 1).get_by_label("Owner (organization)").fill("Other Owner")
    spec = _spec(page)
    assert spec["fallback"] == {"kind": "extend", "by_hours": 36}
    assert spec["quorum"] == 1 and len(spec["sources"]) == 2
    page.get_by_role("button", name="Remove source 1").click()
    expect(page.locator("#spec-builder .b-source")).to_have_count(1)
    expect(_source(page, 0).get_by_label("Kind")).to_be_focused()
    assert [s["owner"] for s in _spec(page)["sources"]] == ["Other Owner"]

    # fits a phone: nothing wider than the screen
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shot(page, "create-builder-phone")


def test_the_builder_asks_why_one_source_is_enough(page: Page, web_server: WebServer) -> None:
    """One source is refused by the linter until the form says why it is enough; then
    it is a warning, and the reason is in the spec."""
    log_in(page, "admin", web_server.admin_password)
    page.goto("/create")
    page.get_by_label("Question").fill(f"Does one wire decide? {uuid.uuid4().hex[:6]}")
    page.get_by_label("Closes (UTC)").fill(CLOSE)
    only = _source(page, 0)
    only.get_by_label("Kind").select_option("http_json")
    only.get_by_label("Source id").fill("wire")
    only.get_by_label("Owner (organization)").fill("Wire Agency")
    only.get_by_label("URL").fill("https://api.wire.example.com/towns/myrnohrad")
    only.get_by_label("JSON path").fill("$.control.side")
    only.get_by_label("Yes", exact=True).fill("A")
    only.get_by_label("No", exact=True).fill("B")
    assert "single_source_reason" not in _spec(page)
    page.get_by_role("button", name="Check the spec").click()
    expect(page.locator("#spec-findings li.error")).to_contain_text("single_source")

    reason = "The agency is the only one with a reporter in the town."
    page.get_by_label("Why one source (or one owner) is enough").fill(reason)
    assert _spec(page)["single_source_reason"] == reason
    page.get_by_role("button", name="Check the spec").click()
    expect(page.locator("#spec-findings li.error")).to_have_count(0)
    expect(page.locator("#spec-findings li.warning")).to_contain_text(reason)
