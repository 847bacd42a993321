"""Observing a market's sources on demand answers 202 with a job (issue 17, point 6):
the request returns at once even when a source is slow; the job is polled until it is
done (with each capture's id and hash) or failed; jobs are bounded (503 ``overloaded``
with Retry-After when too many wait); a second request for a market whose job is still
running gets that job; finished jobs can be read for a while. It works the same when
the app answers in-process (no lifespan: the test drives it over ASGI). Also ``augury
verify`` on the journal this made says one thing about its checkpoints.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from augury.roles.observe_jobs import ACTIVE_MAX

from .conftest import Server, assert_problem
from .helpers import finished_job, local_app, observer_server, ok

T_US = 1_763_164_800_000_000  # START + 24h
CLOSE = "2025-11-15T00:00:00Z"
SLOW_S = 1.5


class SlowSources:
    """``/slow/...`` answers after ``SLOW_S`` seconds, ``/fast/...`` at once; both say A."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/slow/"):
                    time.sleep(SLOW_S)
                body = json.dumps({"control": {"side": "A"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def spec(url: str) -> dict[str, Any]:
    expect = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]
    source = {"kind": "http_json", "path": "$.control.side", "expect": expect}
    return {
        "sources": [
            {**source, "id": "wire", "owner": "Wire Agency", "url": url},
            {**source, "id": "feed", "owner": "Feed Inc", "url": url + "?feed"},
        ],
        "observation_at_us": T_US,
        "persistence": {"hours": 12},
        "quorum": 2,
    }


@pytest.fixture(scope="module")
def sources() -> Iterator[SlowSources]:
    running = SlowSources()
    yield running
    running.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from observer_server(tmp_path_factory, "jobs")


def market(admin: httpx.Client, url: str) -> str:
    body = {
        "id": f"j-{uuid.uuid4().hex[:10]}", "question": "Who holds it?", "close_time": CLOSE,
        "resolution_spec": spec(url),
    }  # fmt: skip
    found: str = ok(admin.post("/markets", json=body), 201)["id"]
    return found


def poll(client: httpx.Client, location: str) -> dict[str, Any]:
    job: dict[str, Any] = finished_job(client, location).json()
    return job


def test_observe_answers_202_at_once_and_the_job_reports_the_captures(
    live: Server, sources: SlowSources
) -> None:
    admin = live.admin()
    mid = market(admin, f"{sources.base}/slow/wire.json")
    started = time.monotonic()
    answer = admin.post(f"/markets/{mid}/observe")
    took = time.monotonic() - started
    assert answer.status_code == 202, answer.text
    assert took < SLOW_S, f"the request waited for the fetch ({took:.2f} s)"
    job = answer.json()
    assert answer.headers["location"] == job["location"] == f"/api/v1/observe-jobs/{job['id']}"
    assert job["status"] in ("pending", "running") and job["market"] == mid
    assert job["observations"] == [] and job["finished_at"] is None
    again = ok(admin.post(f"/markets/{mid}/observe"), 202)
    assert again["id"] == job["id"]  # still running: the same job
    done = poll(admin, job["location"])
    assert done["status"] == "done" and done["error"] == ""
    captures = done["observations"]
    assert sorted(c["source_id"] for c in captures) == ["feed", "wire"]
    for c in captures:
        assert c["ok"] and c["value"] == "A" and c["id"] is not None
        seen = ok(admin.get(f"/markets/{mid}/observations/{c['id']}"))
        assert (seen["content_sha256"], seen["size"]) == (c["content_sha256"], c["size"])
        assert c["size"] == len(admin.get(f"/evidence/{c['content_sha256']}").content)
    assert ok(admin.get(job["location"].removeprefix("/api/v1"))) == done  # kept
    fresh = ok(admin.post(f"/markets/{mid}/observe"), 202)
    assert fresh["id"] != job["id"]  # finished: a new request is a new job
    poll(admin, fresh["location"])


def test_jobs_are_bounded_and_unknown_ones_are_not_found(
    live: Server, sources: SlowSources
) -> None:
    admin = live.admin()
    slow = [market(admin, f"{sources.base}/slow/{i}.json") for i in range(ACTIVE_MAX + 1)]
    answers = [admin.post(f"/markets/{mid}/observe") for mid in slow]
    assert [a.status_code for a in answers[:ACTIVE_MAX]] == [202] * ACTIVE_MAX
    full = assert_problem(answers[-1], 503, "overloaded")
    assert full["detail"].endswith("seconds.") and answers[-1].headers["retry-after"] == "5"
    assert_problem(admin.get("/observe-jobs/" + "0" * 24), 404, "not_found")
    assert_problem(admin.get("/observe-jobs/not-a-job"), 422, "validation_error")
    assert_problem(admin.post("/markets/nowhere/observe"), 404, "unknown_market")
    for a in answers[:ACTIVE_MAX]:
        assert poll(admin, a.headers["location"])["status"] == "done"
    assert ok(admin.post(f"/markets/{slow[-1]}/observe"), 202)["status"] in ("pending", "running")


def test_verify_says_one_thing_about_checkpoints(live: Server, sources: SlowSources) -> None:
    """The journal made above verifies: OK and its checkpoint line agree; with a wrong
    trusted key it fails, and the checkpoint line names the failure, never a success."""

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "augury.cli", "verify", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    ok(live.admin().post("/admin/clock", json={"seconds": 60}))
    good = verify("--data-dir", str(live.data_dir))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("OK ") and "FAILED" not in good.stdout + good.stderr
    assert "failed" not in good.stdout
    wrong = verify("--data-dir", str(live.data_dir), "--trusted-key", "ab" * 32)
    text = wrong.stdout + wrong.stderr
    if "checkpoint" in good.stdout and "holds no checkpoint" not in good.stdout:
        assert wrong.returncode == 1, text
        assert wrong.stdout.startswith("FAILED ")
        assert "signed by the trusted key" not in text and "failed: " in wrong.stdout
    else:  # no checkpoint yet: nothing to sign, nothing claimed
        assert "no checkpoint" in good.stdout


def test_jobs_work_in_process_without_the_lifespan(tmp_path: Path, sources: SlowSources) -> None:
    """The app driven in-process (as an embedding program would, no lifespan run):
    the job runs on the caller's event loop and finishes."""
    services, app, passwords = local_app(
        tmp_path, evidence_allow_hosts=["127.0.0.1"], observer_interval_s=0
    )

    async def scenario() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local/api/v1") as client:
            login = await client.post(
                "/auth/login", json={"username": "admin", "password": passwords[0]}
            )
            assert login.status_code == 200, login.text
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            body = {
                "id": "embedded", "question": "?", "close_time": CLOSE,
                "resolution_spec": spec(f"{sources.base}/fast/wire.json"),
            }  # fmt: skip
            assert (await client.post("/markets", json=body)).status_code == 201
            answer = await client.post("/markets/embedded/observe")
            assert answer.status_code == 202, answer.text
            location = answer.headers["location"].removeprefix("/api/v1")
            for _ in range(400):
                job: dict[str, Any] = (await client.get(location)).json()
                if job["status"] in ("done", "failed"):
                    return job
                await asyncio.sleep(0.05)
            raise AssertionError(job)

    try:
        job = asyncio.run(scenario())
    finally:
        services.stop()
    assert job["status"] == "done", job
    assert sorted(c["source_id"] for c in job["observations"]) == ["feed", "wire"]
    assert all(c["id"] is not None and c["ok"] for c in job["observations"])
