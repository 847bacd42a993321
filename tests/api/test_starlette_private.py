"""The one private Starlette name Augury uses (``api/fast_orders.py``) is still there
and still means what the hot routes rely on.

``fast_orders`` matches ``POST /orders`` and ``DELETE /orders/{id}`` itself, on the
path Starlette's own routes match on (``starlette._utils.get_route_path``: the request
path without the ``root_path`` a proxy mounts the app under). If a Starlette release
renames it, changes it, or stops routing with it, the hot routes and the FastAPI
routes they shadow could disagree on which requests are theirs: pyproject.toml pins
starlette to the tested range, and this test is what to run before widening it.
"""

from __future__ import annotations

import pytest
import starlette.routing
from starlette._utils import get_route_path

from augury.api import fast_orders


def test_the_hot_routes_use_the_function_starlette_routes_with() -> None:
    assert fast_orders.get_route_path is get_route_path
    assert starlette.routing.get_route_path is get_route_path


@pytest.mark.parametrize(
    ("path", "root_path", "route_path"),
    [
        ("/api/v1/orders", "", "/api/v1/orders"),
        ("/exchange/api/v1/orders", "/exchange", "/api/v1/orders"),
        ("/exchange", "/exchange", ""),
        ("/exchangeX/api/v1/orders", "/exchange", "/exchangeX/api/v1/orders"),
        ("/api/v1/orders", "/exchange", "/api/v1/orders"),
    ],
)
def test_the_route_path_drops_the_root_path_only_at_a_segment_boundary(
    path: str, root_path: str, route_path: str
) -> None:
    scope = {"type": "http", "path": path, "root_path": root_path}
    assert get_route_path(scope) == route_path
