"""schemathesis against a real server: every operation of the OpenAPI document, fuzzed.

A server of its own (``augury serve`` on a free port, simulated time, rate limits off),
so that whatever the fuzzer does (advance the clock, halt markets, change roles) never
reaches the other API tests. Every check schemathesis has runs, each named in CONFIG
(and a test fails if schemathesis gains one CONFIG does not name, or if any is off for
any operation or phase): server errors, status codes and content types as documented,
response bodies valid against their declared schema, response headers, negative data
rejected, positive data accepted, missing headers, unsupported methods, Allow headers,
use after free, resource availability, ignored auth and object-level authorization.
They run in the examples, coverage and fuzzing phases for each operation and then in the
stateful phase (sequences that follow the links schemathesis infers between responses
and parameters), once as the admin and once as a trader, each with an API key of every
scope it may have. The per-operation phases are derandomized (every run sends the same
requests); the stateful phase is not, and is bounded by calls and time instead.

Two settings differ from schemathesis's defaults, each with its reason:

- ``positive_data_acceptance`` also accepts 422. The exchange refuses requests the
  schema cannot describe (a zero or off-tick amount, an outcome past the market's
  count, a cursor it never gave, too little money, an Idempotency-Key reused for
  another body, a limit order without a price, free text holding a control character)
  with 422 and a documented code (docs/api.md, Errors).
- ``negative_data_rejection`` also accepts 413. A body over the 64 KiB limit is
  refused with 413 ``body_too_large`` (documented on every operation) before it is
  parsed, so an invalid body that is also too large is rejected by its size first.

Every other check keeps its defaults, and 5xx is never accepted: the run fails on any
server error or schema violation.

Bounded: 25 examples per operation and phase, and stateful scenarios of at most 10
steps until 150 calls have been checked or 20 s have passed, per role (3 to 5 minutes in
all on the 2-core machine shared with other test runs: 3 min 10 s and 4 min 44 s
measured under load averages of 11 and 13).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from augury.api import create_app
from augury.settings import Settings
from tests.api.conftest import START, Server, start_server
from tests.api.helpers import create_market

MAX_EXAMPLES = 25
STATEFUL_SCENARIOS = 15
STATEFUL_STEPS_MAX = 10
STATEFUL_STEPS = 150
"""Calls checked in the stateful phase, per role (at most STATEFUL_S_MAX seconds)."""
STATEFUL_S_MAX = 20.0
STATEFUL_STEPS_MIN = 30
"""Fewer checked calls than this (a very slow machine) fails: the phase must run."""
REQUEST_TIMEOUT_S = 30

NO_RATE_LIMITS = {
    "AUGURY_RATE_LIMIT_IP_PER_S": "0",
    "AUGURY_RATE_LIMIT_KEY_PER_S": "0",
    "AUGURY_RATE_LIMIT_PASSWORD_PER_S": "0",
}

# schemathesis.toml as a dict; see the module docstring for the two changes.
ACCEPTED_REFUSALS = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CHECK_NAMES = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir: Path = tmp_path_factory.mktemp("api-schemathesis") / "data"
    running = start_server(data_dir, "--clock", "simulated", "--start", START, env=NO_RATE_LIMITS)
    try:
        yield running
    finally:
        running.stop()
    assert "Traceback" not in running.output(), running.output()[-4000:]


def _api_key(client: httpx.Client, scopes: list[str]) -> str:
    response = client.post("/auth/api-keys", json={"name": "schemathesis", "scopes": scopes})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


@pytest.fixture(scope="module")
def as_admin(fuzzed_server: Server) -> dict[str, Any]:
    """How to call as the admin: ``call_and_validate`` keyword arguments."""
    admin = fuzzed_server.admin()
    # something to find: a binary market with a maker and a categorical one
    create_market(admin, id="st-binary", liquidity="50")
    create_market(admin, id="st-cat", type="categorical", outcomes=["a", "b", "c"])
    key = _api_key(admin, ["read", "trade", "admin"])
    return {"base_url": fuzzed_server.base_url, "headers": {"Authorization": f"Bearer {key}"}}


@pytest.fixture(scope="module")
def as_trader(fuzzed_server: Server) -> dict[str, Any]:
    _, trader = fuzzed_server.user("st")
    key = _api_key(trader, ["read", "trade"])
    return {"base_url": fuzzed_server.base_url, "headers": {"Authorization": f"Bearer {key}"}}


# The document the server publishes, built from the same app without starting it (a
# test pins that the server serves exactly this one), so the tests can be generated
# at collection time; the requests go to the running server.
APP_OPENAPI = create_app(Settings()).openapi()
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20251114,
        "request-timeout": REQUEST_TIMEOUT_S,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {
            **{name: {"enabled": True} for name in CHECK_NAMES},
            "positive_data_acceptance": {"enabled": True, "expected-statuses": ACCEPTED_REFUSALS},
            "negative_data_rejection": {"enabled": True, "expected-statuses": REJECTIONS},
        },
        "phases": {"stateful": {"enabled": True, "max-steps": STATEFUL_STEPS_MAX}},
    }
)
schema = schemathesis.openapi.from_dict(APP_OPENAPI, config=CONFIG)


def test_every_check_runs_on_every_operation_in_every_phase() -> None:
    load_all_checks()
    assert sorted(CHECKS.get_all_names()) == sorted(CHECK_NAMES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        for phase in PHASES:
            config = schema.config.checks_config_for(operation=operation, phase=phase)
            off = [name for name in CHECK_NAMES if not getattr(config, name).enabled]
            assert not off, (operation.label, phase, off)


def test_the_server_publishes_the_document_under_test(fuzzed_server: Server) -> None:
    served = httpx.get(fuzzed_server.base_url + "/openapi.json").json()
    assert served == APP_OPENAPI


@schema.parametrize()
@hypothesis.settings(suppress_health_check=list(hypothesis.HealthCheck), deadline=None)
def test_every_operation_as_admin(case: Case, as_admin: dict[str, Any]) -> None:
    case.call_and_validate(**as_admin)


@schema.parametrize()
@hypothesis.settings(suppress_health_check=list(hypothesis.HealthCheck), deadline=None)
def test_every_operation_as_trader(case: Case, as_trader: dict[str, Any]) -> None:
    case.call_and_validate(**as_trader)


def _stateful(call_kwargs: dict[str, Any]) -> None:
    """Scenarios of linked calls until STATEFUL_STEPS calls have been checked.

    Check failures are collected rather than raised, as schemathesis's own runner does:
    Hypothesis cannot replay a scenario against a server whose state has moved on, so
    it may call a run flaky (FlakyStrategyDefinition), which then ends only that run.
    """
    failures: list[str] = []
    steps = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return call_kwargs

        def validate_response(
            self, response: Any, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            nonlocal steps
            steps += 1
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except (FailureGroup, AssertionError) as failure:
                failures.append(f"{case.method} {case.formatted_path}: {failure!s:.3000}")

    settings = hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=STATEFUL_STEPS_MAX,
        deadline=None,
        database=None,
        # generate only, as schemathesis's own runner does: replaying or shrinking a
        # scenario against a server whose state has moved on is not reproducible
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    deadline = time.monotonic() + STATEFUL_S_MAX
    while steps < STATEFUL_STEPS and time.monotonic() < deadline and not failures:
        with contextlib.suppress(hypothesis.errors.FlakyStrategyDefinition):
            Workflow.run(settings=settings)
    assert not failures, "\n".join(failures)
    assert steps >= STATEFUL_STEPS_MIN, steps


def test_stateful_as_admin(as_admin: dict[str, Any]) -> None:
    _stateful(as_admin)


def test_stateful_as_trader(as_trader: dict[str, Any]) -> None:
    _stateful(as_trader)
