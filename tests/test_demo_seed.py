"""``augury demo seed``: journaled, repeatable, idempotent, never in production."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from augury.cli import main
from augury.demo_seed import EDITED, PLANTED, STORIES, SeedReport, journal_is_empty, seed
from augury.journal import SqliteJournalStore
from augury.settings import Settings, parse_instant_us

END_US = parse_instant_us("2026-03-01T12:00:00Z")


def _quiet(_username: str, _password: str) -> None:
    pass


def _seed(data_dir: Path, days: int = 3, rng_seed: int = 7) -> SeedReport:
    return seed(
        Settings(data_dir=data_dir),
        days=days,
        rng_seed=rng_seed,
        end_us=END_US,
        on_admin_created=_quiet,
        log=lambda _: None,
    )


def _commands(data_dir: Path) -> list[tuple[int, bytes]]:
    with SqliteJournalStore(data_dir / "journal.db") as store:
        return [(r.ts_us, r.body) for r in store.read() if r.kind == "command"]


def test_seed_journals_a_living_demo_once(tmp_path: Path) -> None:
    assert journal_is_empty(Settings(data_dir=tmp_path))
    report = _seed(tmp_path)
    assert report.seeded and report.markets == len(STORIES) + 1 == 15
    assert report.commands > 500
    assert report.end == "2026-03-01T12:00:00Z"
    assert not journal_is_empty(Settings(data_dir=tmp_path))
    with sqlite3.connect(tmp_path / "projections.db") as db:
        markets = dict(db.execute("SELECT market, categorical FROM markets").fetchall())
        assert set(markets) == {s.id for s in STORIES} | {EDITED}
        assert sum(markets.values()) >= 3  # some categorical
        scalars = dict(db.execute("SELECT market, scalar FROM markets WHERE scalar IS NOT NULL"))
        assert set(scalars) == {"demo-hormuz-transits", "demo-frontline-length"}
        categories = {c for (c,) in db.execute("SELECT category FROM api_market_meta")}
        assert {"conflict", "east-asia", "economics"} <= categories
        traded = dict(db.execute("SELECT market, count(*) FROM fills GROUP BY market").fetchall())
        assert all(traded.get(s.id, 0) >= 5 for s in STORIES) and traded[EDITED] >= 5, traded
        specs = [
            json.loads(s) for (s,) in db.execute("SELECT resolution_spec FROM api_market_meta")
        ]
        assert all(spec["quorum"] == 2 and len(spec["sources"]) >= 2 for spec in specs)
        first, last = db.execute("SELECT min(ts_us), max(ts_us) FROM fills").fetchone()
        assert last - first > 36 * 3_600_000_000  # trading spread over the days
    head = _commands(tmp_path)
    again = _seed(tmp_path)
    assert not again.seeded and "already" in again.message
    assert _commands(tmp_path) == head
    assert main(["verify", "--data-dir", str(tmp_path)]) == 0


def test_the_same_seed_gives_the_same_journal(tmp_path: Path) -> None:
    _seed(tmp_path / "a")
    _seed(tmp_path / "b")
    _seed(tmp_path / "c", rng_seed=8)
    assert _commands(tmp_path / "a") == _commands(tmp_path / "b")
    assert _commands(tmp_path / "a") != _commands(tmp_path / "c")


def test_the_cli_seeds_and_refuses_production(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["demo", "seed", "--data-dir", str(tmp_path), "--days", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["seeded"] is True and out["markets"] == 14  # one day: no edited-map story
    assert main(["demo", "seed", "--data-dir", str(tmp_path), "--days", "1"]) == 0
    assert "already there" in capsys.readouterr().out
    monkeypatch.setenv("AUGURY_MODE", "production")
    monkeypatch.setenv("AUGURY_SECRET_KEY", "x" * 40)
    assert main(["demo", "seed", "--data-dir", str(tmp_path / "prod")]) == 2
    assert "never seeded in production" in capsys.readouterr().err
    assert journal_is_empty(Settings(data_dir=tmp_path / "prod"))


def test_serve_demo_seeds_only_an_empty_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import augury.demo_seed
    from augury.cli import _seed_if_empty

    calls: list[Path] = []

    def quick(settings: Settings) -> SeedReport:
        calls.append(settings.data_dir)
        return _seed(settings.data_dir, days=1)  # too short for the edited-map story

    monkeypatch.setattr(augury.demo_seed, "seed", quick)
    _seed_if_empty(Settings(data_dir=tmp_path))
    _seed_if_empty(Settings(data_dir=tmp_path))  # not empty any more
    assert calls == [tmp_path]
    assert "seeded 14 markets" in capsys.readouterr().out
    _seed_if_empty(Settings(data_dir=tmp_path / "p", mode="production", secret_key="y" * 40))
    assert calls == [tmp_path]
    assert "ignored in production" in capsys.readouterr().err


def test_the_edited_map_story_is_replayed_held_and_its_evidence_kept(tmp_path: Path) -> None:
    """The edited map flips to B and back; the wire never flips: proposed A by the rules,
    held by a high longshot alert naming the two fresh accounts; every hash's bytes are in
    the evidence store."""
    from augury.evidence.store import EvidenceStore

    _seed(tmp_path)
    with sqlite3.connect(tmp_path / "projections.db") as db:
        rows = db.execute(
            "SELECT kind, details FROM resolution_log WHERE market = ? ORDER BY seq, idx",
            (EDITED,),
        ).fetchall()
    story = [(kind, json.loads(details)) for kind, details in rows]
    kinds = [kind for kind, _ in story]
    assert kinds.count("observation") + kinds.count("change") == 120  # 60 hours x 2 sources
    changes = [d["change"] for kind, d in story if kind == "change"]
    assert changes == [
        'feature "Myrnohrad": controlled_by "A" → "B"',
        'feature "Myrnohrad": controlled_by "B" → "A"',
    ]
    assert [d["outcome"] for kind, d in story if kind == "proposal"] == [0]  # A, never B
    alerts = [d for kind, d in story if kind == "alert"]
    assert len(alerts) == 1 and alerts[0]["severity"] == "high" and alerts[0]["holds"]
    assert alerts[0]["detector"] == "longshot" and set(alerts[0]["accounts"]) == set(PLANTED)
    assert kinds.index("alert") > kinds.index("change")  # raised after the flip
    failed = [d for kind, d in story if kind == "observation" and not d["ok"]]
    assert len(failed) == 1 and failed[0]["http_status"] == 503
    store = EvidenceStore(tmp_path / "evidence")
    for kind, d in story:
        if kind in ("observation", "change"):
            assert store.verify(d["content_sha256"])
