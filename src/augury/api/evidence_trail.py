"""The evidence trail as a person reads it (docs/resolution.md, "The evidence trail").

A source polled every minute for weeks yields tens of thousands of captures, almost all
identical. The reads here come from the ``resolution_log`` read model:

- ``observation_page``: the captures themselves, one by one, each with its ``id`` (the
  journal seq of the record that holds it) and ``size`` (the raw body's byte length),
  paged by id and optionally narrowed to one source and an id range (a run's captures);
- ``run_page``: the same captures with each source's consecutive identical ones (same
  content hash, same value read, same status) collapsed into one run that names its
  first and last capture (ids, hashes, times) and how many it holds, paged by the run's
  first id.

``collapse`` is the rule itself and does no I/O. Every capture stays reachable by its id
(``/markets/{id}/observations/{obs}``) and its bytes by their hash (``/evidence/{sha}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Engine, select

from augury.api.errors import refused
from augury.projections import tables as t
from augury.roles.observer import CAPTURE_KINDS as _KINDS
from augury.settings import format_instant

OBSERVATION_PAGE_DEFAULT = 1_000
OBSERVATION_PAGE_MAX = 5_000
RUN_PAGE_DEFAULT = 200
RUN_PAGE_MAX = 1_000
_CHUNK = 2_000

SizeOf = Callable[[str], int | None]
"""The evidence store's byte length of a hash (None when it does not hold it)."""


def dedupe(hashes: Iterable[str]) -> list[str]:
    """Each hash once, in the order of its first appearance."""
    return list(dict.fromkeys(hashes))


def observation_item(seq: int, d: dict[str, Any], size_of: SizeOf | None) -> dict[str, Any]:
    """One capture as the API shows it. ``size`` is the journaled byte length; records
    made before it was journaled fall back to the evidence store (0 without a body)."""
    sha = d["content_sha256"]
    size = d.get("size")
    if size is None:
        size = 0 if not sha else (size_of(sha) if size_of is not None else None)
    return {
        "id": seq,
        "source_id": d["source_id"],
        "ok": d["ok"],
        "value": d["value"],
        "content_sha256": sha,
        "size": size,
        "http_status": d["http_status"],
        "error_code": d["error_code"],
        "error": d["error"],
        "change": d["change"],
        "headers": [list(h) for h in d.get("headers", ())],
        "url": d.get("url", ""),
        "fetched_at": format_instant(d["fetched_at_us"]),
    }


def same_capture(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two captures of one source read the same: same bytes (hash), same value,
    same outcome of the fetch (ok, HTTP status, error code)."""
    fields = ("source_id", "content_sha256", "value", "ok", "http_status", "error_code")
    return all(a[f] == b[f] for f in fields)


def collapse(items: Iterable[dict[str, Any]], captures_url: str = "") -> list[dict[str, Any]]:
    """Runs of each source's consecutive identical captures, in the order of their first
    capture. ``items`` are ``observation_item``s in journal order (any mix of sources)."""
    runs: list[dict[str, Any]] = []
    open_run: dict[str, int] = {}  # source -> index of its current run in ``runs``
    last: dict[str, dict[str, Any]] = {}
    for item in items:
        source = item["source_id"]
        previous = last.get(source)
        last[source] = item
        if previous is not None and same_capture(previous, item):
            run = runs[open_run[source]]
            run["count"] += 1
            run["last_id"], run["last_sha256"] = item["id"], item["content_sha256"]
            run["last_at"] = item["fetched_at"]
            continue
        open_run[source] = len(runs)
        runs.append(_new_run(item))
    for run in runs:
        run["summary"] = _summary(run)
        if captures_url:
            run["captures"] = (
                f"{captures_url}?source={run['source_id']}"
                f"&after={run['first_id'] - 1}&until={run['last_id']}"
            )
    return runs


def _new_run(item: dict[str, Any]) -> dict[str, Any]:
    keep = ("source_id", "ok", "value", "content_sha256", "size", "http_status")
    run = {k: item[k] for k in keep}
    run.update(
        error_code=item["error_code"],
        error=item["error"],
        change=item["change"],
        count=1,
        first_id=item["id"],
        last_id=item["id"],
        first_sha256=item["content_sha256"],
        last_sha256=item["content_sha256"],
        first_at=item["fetched_at"],
        last_at=item["fetched_at"],
        captures="",
    )
    return run


def _summary(run: dict[str, Any]) -> str:
    if run["count"] == 1:
        return f"1 capture at {run['first_at']}"
    state = "unchanged" if run["ok"] else f"failed the same way ({run['error_code']})"
    return f"{state}, {run['count']} captures from {run['first_at']} to {run['last_at']}"


# -- reads ----------------------------------------------------------------------------------
def _rows(
    engine: Engine, market: str, after: int, until: int | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(seq, details) of the market's captures in journal order, read in chunks."""
    log = t.resolution_log
    while True:
        query = select(log.c.seq, log.c.details).where(
            log.c.market == market, log.c.kind.in_(_KINDS), log.c.seq > after
        )
        if until is not None:
            query = query.where(log.c.seq <= until)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(log.c.seq).limit(_CHUNK)).all()
        for row in rows:
            yield row.seq, json.loads(row.details)
        if len(rows) < _CHUNK:
            return
        after = rows[-1].seq


def observation_page(
    engine: Engine,
    market: str,
    size_of: SizeOf | None,
    *,
    source: str | None = None,
    after: int = 0,
    until: int | None = None,
    limit: int = OBSERVATION_PAGE_DEFAULT,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of captures with id > ``after`` (and <= ``until``), and the ``after`` of the
    next page (None on the last)."""
    items: list[dict[str, Any]] = []
    for seq, d in _rows(engine, market, after, until):
        if source is not None and d["source_id"] != source:
            continue
        if len(items) == limit:
            return items, items[-1]["id"]
        items.append(observation_item(seq, d, size_of))
    return items, None


def observation_one(
    engine: Engine, market: str, obs_id: int, size_of: SizeOf | None
) -> dict[str, Any] | None:
    """The capture journaled at seq ``obs_id`` of this market, or None."""
    for seq, d in _rows(engine, market, obs_id - 1, obs_id):
        return observation_item(seq, d, size_of)
    return None


def run_page(
    engine: Engine,
    market: str,
    size_of: SizeOf | None,
    *,
    source: str | None = None,
    cursor: str | None = None,
    limit: int = RUN_PAGE_DEFAULT,
    captures_url: str = "",
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of runs whose first capture's id is after ``cursor``, and the next cursor."""
    start = 0
    if cursor:
        if not cursor.isdigit() or len(cursor) > 19:
            raise refused("invalid_cursor", "The cursor is not one this endpoint gave.")
        start = int(cursor)
    items = (
        observation_item(seq, d, size_of)
        for seq, d in _rows(engine, market, 0, None)
        if source is None or d["source_id"] == source
    )
    runs = [r for r in collapse(items, captures_url) if r["first_id"] > start]
    page = runs[:limit]
    more = len(runs) > limit
    return page, str(page[-1]["first_id"]) if more and page else None


def latest_capture_id(engine: Engine, market: str, source: str) -> int | None:
    """The id of the newest capture of ``source`` in ``market`` (None without one)."""
    log = t.resolution_log
    query = (
        select(log.c.seq, log.c.details)
        .where(log.c.market == market, log.c.kind.in_(_KINDS))
        .order_by(log.c.seq.desc())
    )
    with engine.connect() as conn:
        for row in conn.execute(query):
            if json.loads(row.details)["source_id"] == source:
                return int(row.seq)
    return None
