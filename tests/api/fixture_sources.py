"""A local HTTP server whose answers a test changes as it goes: the resolution sources.

``FixtureSources`` serves ``path -> (status, content type, body)`` from a thread on a
free port of 127.0.0.1; ``set`` changes what a path serves. Requests are counted, so a
test can show the observer really fetched.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FixtureSources:
    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        sources = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with sources._lock:
                    sources.hits[self.path] = sources.hits.get(self.path, 0) + 1
                    found = sources.routes.get(self.path)
                status, kind, body = found if found else (404, "text/plain", b"not found")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FixtureSources:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def set(self, path: str, body: Any, status: int = 200, kind: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self._lock:
            self.routes[path] = (status, kind, data)


def war_map(side: str) -> dict[str, Any]:
    """A front-line map: the town's polygon, held by ``side``, and a rear area held by A."""
    town = [[[37.20, 48.28], [37.26, 48.28], [37.26, 48.32], [37.20, 48.32], [37.20, 48.28]]]
    rear = [[[37.0, 48.0], [37.1, 48.0], [37.1, 48.1], [37.0, 48.1], [37.0, 48.0]]]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "Myrnohrad",
                "properties": {"name": "Myrnohrad", "controlled_by": side},
                "geometry": {"type": "Polygon", "coordinates": town},
            },
            {
                "type": "Feature",
                "id": "rear",
                "properties": {"name": "rear", "controlled_by": "A"},
                "geometry": {"type": "Polygon", "coordinates": rear},
            },
        ],
    }


def wire(side: str) -> dict[str, Any]:
    return {"town": "Myrnohrad", "control": {"side": side}}
