"""A real server with the demo seeded, and Debian's Chromium driven by Playwright.

``augury demo seed`` fills a fresh data directory (a few days of trading, to keep it
quick), then ``augury serve`` runs on it on a free port. Without Chromium the browser
tests are skipped, except under CI, where they fail: CI must run them.
Screenshots go to $AUGURY_ARTIFACTS (default: test-artifacts/web in the repository).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.api.conftest import FAST_HASHING, start_server

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AUGURY_CHROMIUM", "/usr/bin/chromium")
STARTUP_S_MAX = 60.0
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)
DEMO_DAYS = os.environ.get("AUGURY_WEB_DEMO_DAYS", "4")  # 21 for the docs screenshots
ENV = FAST_HASHING


@dataclass
class WebServer:
    base_url: str
    data_dir: Path
    admin_password: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("AUGURY_ARTIFACTS", REPO / "test-artifacts")) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    root = tmp_path_factory.mktemp("web")
    data_dir = root / "data"
    environment = {**os.environ, **ENV}
    cli = [sys.executable, "-m", "augury.cli"]
    seeded = subprocess.run(
        [*cli, "demo", "seed", "--data-dir", str(data_dir), "--days", DEMO_DAYS],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    found = re.search(r"password: (\S+)", seeded.stdout)
    assert found, seeded.stdout
    running = start_server(data_dir, env=ENV, startup_s=STARTUP_S_MAX)
    yield WebServer(running.base_url, data_dir, found.group(1), running.process, running.log)
    running.stop()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary; its absence skips the browser tests, but fails them under CI."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if path is None:
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, web_server: WebServer) -> Iterator[Page]:
    context = browser.new_context(
        base_url=web_server.base_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield opened
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
