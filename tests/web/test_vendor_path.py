"""The chart library is found from any working directory (issue 17): ``node_modules``
is looked up from the package's own location and the Python environment, upwards,
never only in the current directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from augury.web import vendor
from tests.api.conftest import START, assert_clean_exit, start_server

CHART = vendor.VENDOR_FILES["lightweight-charts.js"]


def _install(root: Path) -> Path:
    path = root / "node_modules" / CHART
    path.parent.mkdir(parents=True)
    path.write_text("// the chart library")
    return root / "node_modules"


def test_found_upwards_from_an_installed_package(tmp_path: Path) -> None:
    """A package installed in a virtualenv inside the repository (not an editable
    checkout): the repository's node_modules is found from the package's folder."""
    installed = _install(tmp_path / "repo")
    package = tmp_path / "repo/.venv/lib/python3.11/site-packages/augury/web"
    package.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert vendor.find_node_modules(package) == installed
    assert vendor.find_node_modules(elsewhere, package) == installed
    assert vendor.find_node_modules(elsewhere) is None
    _install(tmp_path / "repo/.venv")  # a nearer one wins
    assert vendor.find_node_modules(package) == tmp_path / "repo/.venv/node_modules"


def test_the_path_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AUGURY_NODE_MODULES"}
    code = "from augury.web import vendor; print(vendor.node_modules()); print(vendor.missing())"
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    where, missing = found.stdout.splitlines()
    assert missing == "[]", found.stdout
    assert Path(where).is_absolute() and not Path(where).is_relative_to(tmp_path)
    relative = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "AUGURY_NODE_MODULES": "mods"},
        capture_output=True,
        text=True,
    )
    assert relative.stdout.splitlines()[0] == str((tmp_path / "mods").resolve())


def test_a_server_started_elsewhere_serves_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if vendor.missing():
        pytest.skip("the chart library is not installed (npm ci)")
    monkeypatch.chdir(tmp_path)  # the server inherits this working directory
    monkeypatch.delenv("AUGURY_NODE_MODULES", raising=False)
    server = start_server(tmp_path / "data", "--clock", "simulated", "--start", START)
    try:
        served = httpx.get(server.base_url + "/static/vendor/lightweight-charts.js", timeout=10)
        assert served.status_code == 200, served.text
        assert served.headers["content-type"].startswith("text/javascript")
    finally:
        assert_clean_exit(server)
