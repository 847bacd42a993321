"""Buying on a visible, unconfirmed source change (the Myrnohrad pattern, as it happens).

One source of a market's resolution spec changes its reading to outcome k (a new run of
equal answers begins with a capture whose hash the journal records) while k has not yet
been confirmed: it has not held through the spec's persistence window with a quorum of
independent owners agreeing. Accounts that buy k at a low price during that time are
betting that the edit will count. This detector follows the journal's observation and
trade records and raises, per change, an alert naming the market, the source, the hash
of the changed capture, the buyers, their shares, prices and the profit each would make
if the market resolved to k.

Confirmation is the resolution rules' own: what a source shows is
:func:`~augury.domain.resolution.evaluate._answer_at` over its latest captures, and k is
confirmed when :func:`~augury.domain.resolution.evaluate.evaluate` proposes k for the
spec with its observation time moved to the start of one of the runs showing k (the
earliest instant at which a quorum can be showing k). Nothing here restates those rules.

A numeric spec (a scalar or bucketed market) is read the same way, "the same answer"
being "within the tolerance": a change is a source's reading moved beyond the tolerance
from the other owners' median (else its own previous reading), toward LONG when up and
SHORT when down (a bucketed market: toward the new bucket); buying counts below what a
share pays if the new reading holds (its *target*, one credit for an expect table), and
confirmation is :func:`~augury.domain.resolution.numeric.evaluate_any` proposing a value
within the tolerance of it.

Severity, integers in basis points: distance = the named buyers' share-weighted
``target - price`` (the implied upside); concentration = the top ``few`` named accounts'
net buying over the episode's low-priced buying (at least ``min_volume``);
``score = distance x concentration / 10,000`` against ``low_bp``/``medium_bp``/``high_bp``.

Incremental and bounded: a trade costs a lookup and, at most once per new observation of
its market, one evaluation per run showing k over that run's kept captures (the first
and the latest ``run_keep``). A market keeps its sources' current runs and, per live
change, the accounts trading it. Pure: time comes from the records, no clock, no I/O.
"""

from __future__ import annotations

from collections import deque

import msgspec

from augury.domain.resolution.evaluate import Observation, Status, _answer_at
from augury.domain.resolution.numeric import _reading, bucket_of, evaluate_any, lower_median
from augury.domain.resolution.spec import (
    HOUR_US,
    AnySource,
    ResolutionSpec,
    SpecError,
    decode_spec,
    norm_org,
)
from augury.domain.scalar import LONG, SHORT, ScalarRange, format_value, price_of
from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.model import MAKER, Context, Severity, make_alert
from augury.domain.surveillance.tape import Observed, Record, SpecSet, Tape, Trade
from augury.domain.units import ONE

BP = 10_000
SEQS_PER_ACCOUNT_MAX = 64
REASON_ACCOUNTS_MAX = 20


class UnconfirmedParams(msgspec.Struct, frozen=True):
    max_price: int = 500_000  # micro-credits: a bet on the shown outcome below 50% is cheap
    min_qty: int = 10 * ONE  # an account is named from this net buying...
    account_share_bp: int = 1_000  # ...and 10% of the change's low-priced buying
    min_volume: int = 500 * ONE  # concentration is over at least this much buying
    few: int = 3  # the top accounts whose share is the concentration
    low_bp: int = 2_000
    medium_bp: int = 5_000
    high_bp: int = 6_500
    run_keep: int = 64  # latest captures kept per source run (besides its first)


class Buyer(msgspec.Struct, frozen=True):
    """One named account's low-priced trading of the shown outcome since the change."""

    account: str
    net_qty: int  # micro-shares bought minus sold
    bought_qty: int
    low_price: int  # micro-credits per share, the lowest and highest it paid
    high_price: int
    profit: int  # micro-credits it would make if the market resolved to the outcome


class Finding(msgspec.Struct, frozen=True):
    """What an ``unconfirmed`` alert says, as data (the alert's reason says it in words)."""

    market: str
    source: str
    outcome: int
    change_sha256: str
    change_seq: int
    change_at_us: int
    buyers: tuple[Buyer, ...]
    distance_bp: int
    concentration_bp: int
    score_bp: int
    severity: Severity
    value: int | None = None
    """A numeric spec: the number the changed capture read (micros of the unit)..."""
    reference: int | None = None
    """...and what it moved from: the other owners' median, else its own previous run."""
    target: int = ONE
    """What a share of the outcome pays if the new reading holds (micro-credits)."""

    @property
    def key(self) -> str:
        """Which change this is: the source and its changed capture's hash."""
        return f"{self.source[:40]}@{self.change_sha256[:16]}"


class _Episode:
    """The trading of one outcome since one source's change to it."""

    __slots__ = (
        "bought",
        "candidates",
        "cost",
        "gross",
        "hi",
        "lo",
        "net",
        "raised",
        "rank",
        "seqs",
        "target",
        "upside",
    )

    def __init__(self, target: int) -> None:
        self.target = target  # what a share pays if the shown reading holds
        self.net: dict[str, int] = {}
        self.bought: dict[str, int] = {}
        self.cost: dict[str, int] = {}  # sum of qty x price (micro-shares x micro-credits)
        self.upside: dict[str, int] = {}  # sum of signed qty x (target - price)
        self.lo: dict[str, int] = {}
        self.hi: dict[str, int] = {}
        self.seqs: dict[str, list[int]] = {}
        self.gross = 0  # every account's low-priced buying of the outcome (maker excluded)
        self.candidates: set[str] = set()  # accounts with a net of at least min_qty
        self.rank = -1  # the highest severity raised so far...
        self.raised: set[str] = set()  # ...and every account named at it


class _Run:
    """One source's current run of equal answers, from its first capture on. In a numeric
    market a run is the readings within the tolerance of its first one (``value``); its
    ``answer`` is the outcome a bet on the move is (LONG up, SHORT down, or the new
    value's bucket), None when it moved nowhere beyond the tolerance."""

    __slots__ = (
        "answer",
        "changed",
        "confirmed",
        "episode",
        "first",
        "group",
        "latest",
        "reference",
        "target",
        "value",
    )

    def __init__(self, first: Observation, answer: int | None, changed: bool, keep: int) -> None:
        self.first = first
        self.answer = answer
        self.changed = changed  # the source showed something else before: a visible change
        self.confirmed = False
        self.group = [first]  # the captures at the latest instant
        self.latest: deque[Observation] = deque(maxlen=keep)
        self.episode: _Episode | None = None
        self.value: int | None = None
        self.reference: int | None = None
        self.target = ONE  # what a share of ``answer`` pays if the run's reading holds

    @property
    def first_us(self) -> int:
        return self.first.fetched_at_us

    def captures(self) -> list[Observation]:
        return [self.first, *self.latest]


class _Market:
    __slots__ = ("cache", "change_seq", "rng", "runs", "sources", "spec")

    def __init__(self, spec: ResolutionSpec, rng: ScalarRange | None) -> None:
        self.spec = spec
        self.rng = rng  # a scalar market's range
        self.sources: dict[str, AnySource] = {s.id: s for s in spec.sources}
        self.runs: dict[str, _Run] = {}
        self.change_seq: dict[str, int] = {}  # source -> journal seq of its run's first capture
        self.cache: dict[tuple[int, int], bool] = {}  # (outcome, value) -> confirmed, until
        # the next capture


class UnconfirmedDetector(Detector):
    name = "unconfirmed"

    def __init__(
        self,
        context: Context | None = None,
        params: UnconfirmedParams | None = None,
        tape: Tape | None = None,
    ) -> None:
        super().__init__(context, tape)
        self.params = params or UnconfirmedParams()
        self.findings: list[Finding] = []
        """One per alert, in the same order."""
        self._markets: dict[str, _Market] = {}

    def on_record(self, record: Record) -> None:
        if isinstance(record, Trade):
            self._trade(record)
        elif isinstance(record, Observed):
            self._observed(record)
        elif isinstance(record, SpecSet):
            self._spec(record)

    # -- the sources ---------------------------------------------------------------------
    def _spec(self, record: SpecSet) -> None:
        try:
            spec = decode_spec(record.spec)
        except SpecError:
            return  # the exchange journals only specs it decoded: nothing to follow
        old = self._markets.get(record.market)
        info = self.tape.markets.get(record.market)
        market = _Market(spec, info.scalar if info is not None else None)
        if old is not None:  # a new version: keep the runs of the sources it did not change
            for sid, run in old.runs.items():
                if old.sources.get(sid) == market.sources.get(sid):
                    market.runs[sid] = run
                    market.change_seq[sid] = old.change_seq[sid]
        self._markets[record.market] = market

    def _observed(self, record: Observed) -> None:
        market = self._markets.get(record.market)
        src = market.sources.get(record.source_id) if market is not None else None
        if market is None or src is None or not record.ok:
            return  # a failed capture is never an answer and never breaks a run
        o = Observation(
            record.source_id, record.fetched_at_us, True, record.value, record.content_sha256
        )
        market.cache.clear()
        run = market.runs.get(o.source_id)
        if run is not None and o.fetched_at_us < run.group[0].fetched_at_us:
            if o.fetched_at_us > run.first_us:  # late: the rules will judge it inside the run
                run.latest.append(o)
            return
        if run is not None and o.fetched_at_us == run.group[0].fetched_at_us:
            group = [*run.group, o]
            if self._same(market, src, run, group):
                run.group = group
                run.latest.append(o)
                return
            self._start(market, record, src, run, group)
            return
        if run is not None and self._same(market, src, run, [o]):
            run.group = [o]
            run.latest.append(o)
            return
        self._start(market, record, src, run, [o])

    @staticmethod
    def _same(market: _Market, src: AnySource, run: _Run, group: list[Observation]) -> bool:
        """Does ``group`` (one instant's captures) continue ``run``? The same answer, or
        in a numeric market a reading within the tolerance of the run's first."""
        numeric = market.spec.numeric
        if numeric is None:
            return _answer_at(src, group) == run.answer
        value = _reading(group, numeric.tolerance)
        if value is None or run.value is None:
            return value is None and run.value is None
        return abs(value - run.value) <= numeric.tolerance

    def _start(
        self,
        market: _Market,
        record: Observed,
        src: AnySource,
        prev: _Run | None,
        group: list[Observation],
    ) -> None:
        """A new run begins at ``group``: the previous run's change (if any) is over."""
        if market.spec.numeric is None:
            run = _Run(group[0], _answer_at(src, group), prev is not None, self.params.run_keep)
        else:
            run = _Run(group[0], None, False, self.params.run_keep)
            run.value = _reading(group, market.spec.numeric.tolerance)
            self._move(market, src, prev, run)
        run.group = group
        run.latest.extend(group[1:])
        market.runs[src.id] = run
        market.change_seq[src.id] = record.seq

    @staticmethod
    def _move(market: _Market, src: AnySource, prev: _Run | None, run: _Run) -> None:
        """Where a numeric source's new reading moved: from the median of the other
        owners' current readings (else its own previous run's) by more than the
        tolerance, up (a bet on LONG pays) or down (SHORT), or into another bucket."""
        numeric, value = market.spec.numeric, run.value
        assert numeric is not None
        if value is None:
            return
        owner = norm_org(src.owner)
        others = [
            r.value
            for sid, r in market.runs.items()
            if r.value is not None and norm_org(market.sources[sid].owner) != owner
        ]
        ref = lower_median(others) if others else (prev.value if prev is not None else None)
        if prev is None or ref is None or abs(value - ref) <= numeric.tolerance:
            return  # the source's first reading, or it agrees: nothing moved
        if numeric.buckets:
            outcome = bucket_of(numeric.buckets, value)
            if outcome == bucket_of(numeric.buckets, ref):
                return  # moved within one bucket: no bet on it pays more
            run.answer, run.target = outcome, ONE
        elif market.rng is not None:
            pays = price_of(market.rng, value)
            if pays == price_of(market.rng, ref):
                return  # both clamp to one end of the range: no bet pays more
            run.answer, run.target = (LONG, pays) if value > ref else (SHORT, ONE - pays)
        else:
            return
        run.changed, run.reference = True, ref

    def _showing(self, market: _Market, run: _Run) -> list[_Run]:
        """The runs showing what ``run`` shows: its answer, or a reading within the
        tolerance of its value."""
        numeric = market.spec.numeric
        if numeric is None:
            return [r for r in market.runs.values() if r.answer == run.answer]
        v = run.value
        assert v is not None
        tol = numeric.tolerance
        return [r for r in market.runs.values() if r.value is not None and abs(r.value - v) <= tol]

    def _confirmed(self, market: _Market, run: _Run, now_us: int) -> bool:
        """Do the rules propose what ``run`` shows (its outcome; in a numeric market a
        value within the tolerance of its reading) for an observation time at the start
        of one of the runs showing it (the sources' captures since those starts)?"""
        assert run.answer is not None
        key = (run.answer, run.value or 0)
        if key in market.cache:
            return market.cache[key]
        showing = self._showing(market, run)
        captures = [o for r in showing for o in r.captures()]
        found = False
        for start in sorted({r.first_us for r in showing}):
            spec = msgspec.structs.replace(market.spec, observation_at_us=start)
            try:
                decision = evaluate_any(spec, captures, now_us, market.rng)
            except ValueError:
                break  # a spec the linter would refuse: the rules cannot confirm anything
            if decision.status is Status.PROPOSE and _shows(
                market, run, decision.outcome, decision.value
            ):
                found = True
                break
        market.cache[key] = found
        return found

    # -- the trading ---------------------------------------------------------------------
    def _trade(self, trade: Trade) -> None:
        market = self._markets.get(trade.market)
        if market is None:
            return
        live = sorted(
            (r.first_us, sid)
            for sid, r in market.runs.items()
            if r.changed and not r.confirmed and r.answer is not None
        )
        done: set[int] = set()
        for _, sid in live:
            run = market.runs[sid]
            assert run.answer is not None
            outcome = run.answer
            if outcome in done:
                continue  # the earliest change to an outcome takes its buying
            done.add(outcome)
            cheap = self.params.max_price if market.rng is None else run.target
            legs = [
                (a, q, p) for a, q, p in self.tape.legs(trade, outcome) if p < cheap and a != MAKER
            ]
            if not legs:
                continue
            if self._confirmed(market, run, trade.ts_us):
                for r in self._showing(market, run):
                    r.confirmed, r.episode = True, None  # buying from now on is fine
                continue
            if run.episode is None:
                run.episode = _Episode(run.target)
            self._add(run.episode, trade, legs)
            self._report(trade.market, market, sid, run)

    def _add(self, ep: _Episode, trade: Trade, legs: list[tuple[str, int, int]]) -> None:
        p = self.params
        for account, signed, price in legs:
            ep.net[account] = ep.net.get(account, 0) + signed
            ep.upside[account] = ep.upside.get(account, 0) + signed * (ep.target - price)
            if signed > 0:
                ep.gross += signed
                ep.bought[account] = ep.bought.get(account, 0) + signed
                ep.cost[account] = ep.cost.get(account, 0) + signed * price
                ep.lo[account] = min(ep.lo.get(account, price), price)
                ep.hi[account] = max(ep.hi.get(account, price), price)
                seqs = ep.seqs.setdefault(account, [])
                if len(seqs) < SEQS_PER_ACCOUNT_MAX:
                    seqs.append(trade.seq)
        for account, _, _ in legs:
            if ep.net[account] >= p.min_qty:
                ep.candidates.add(account)
            else:
                ep.candidates.discard(account)

    def _named(self, ep: _Episode) -> list[str]:
        """The accounts that net-bought at least ``min_qty`` and ``account_share_bp`` of
        the change's low-priced buying so far, largest first."""
        share = self.params.account_share_bp * ep.gross
        named = [a for a in ep.candidates if ep.net[a] * BP >= share]
        return sorted(named, key=lambda a: (-ep.net[a], a))

    def _score(self, ep: _Episode, named: list[str]) -> tuple[int, int, int]:
        """(distance, concentration, score) in basis points; ``named`` largest first."""
        p = self.params
        bought = sum(ep.bought[a] for a in named)
        cost = sum(ep.cost[a] for a in named)
        distance = max(0, (bought * ep.target - cost) * BP // (bought * ONE))
        top = [ep.net[a] for a in named[: p.few]]
        concentration = min(BP, sum(top) * BP // max(ep.gross, p.min_volume))
        return distance, concentration, distance * concentration // BP

    def _severity(self, score: int) -> Severity | None:
        p = self.params
        if score >= p.high_bp:
            return Severity.HIGH
        if score >= p.medium_bp:
            return Severity.MEDIUM
        return Severity.LOW if score >= p.low_bp else None

    def _report(self, market_id: str, market: _Market, sid: str, run: _Run) -> None:
        """Raise the change's state as an alert when it got worse, or names someone new at
        the worst severity so far (never a weaker alert after a stronger one)."""
        ep = run.episode
        assert ep is not None
        named = self._named(ep)
        if not named:
            return
        distance, concentration, score = self._score(ep, named)
        severity = self._severity(score)
        if severity is None:
            return
        if severity.rank < ep.rank or (severity.rank == ep.rank and ep.raised.issuperset(named)):
            return
        if severity.rank > ep.rank:
            ep.rank, ep.raised = severity.rank, set()
        ep.raised.update(named)
        accounts = tuple(sorted(named))
        assert run.answer is not None
        finding = Finding(
            market_id,
            sid,
            run.answer,
            run.first.content_sha256,
            market.change_seq[sid],
            run.first_us,
            tuple(self._buyer(ep, a) for a in named),
            distance,
            concentration,
            score,
            severity,
            run.value,
            run.reference,
            run.target,
        )
        evidence = [finding.change_seq] + [s for a in accounts for s in ep.seqs.get(a, ())]
        cheap = self.params.max_price if market.rng is None else run.target
        reason = _reason(finding, market, cheap)
        self.findings.append(finding)
        alert = make_alert(
            self.name, market_id, accounts, evidence, severity, reason, key=finding.key
        )
        self._alerts.append(msgspec.structs.replace(alert, score_bp=score))  # exact, no float

    @staticmethod
    def _buyer(ep: _Episode, account: str) -> Buyer:
        return Buyer(
            account,
            ep.net[account],
            ep.bought.get(account, 0),
            ep.lo.get(account, 0),
            ep.hi.get(account, 0),
            ep.upside[account] // ONE,
        )


def _credits(micros: int) -> str:
    """Integer micros as credits for humans, exactly (no float)."""
    sign, micros = ("-", -micros) if micros < 0 else ("", micros)
    whole, frac = divmod(micros, ONE)
    return f"{sign}{whole}" + (f".{frac:06d}".rstrip("0") if frac else "")


def _shows(market: _Market, run: _Run, outcome: int | None, value: int | None) -> bool:
    """Is a proposal of ``outcome`` (numeric: ``value``) what ``run`` shows?"""
    numeric = market.spec.numeric
    if numeric is None:
        return outcome == run.answer
    assert run.value is not None
    return value is not None and abs(value - run.value) <= numeric.tolerance


def _moved(f: Finding, market: _Market) -> str:
    """How a numeric source moved, in the question's units ("" for an expect table)."""
    numeric = market.spec.numeric
    if numeric is None or f.value is None or f.reference is None:
        return ""

    def show(v: int) -> str:
        if market.rng is not None:
            return format_value(market.rng, v)
        return f"{_credits(v)} {numeric.units}"

    return (
        f" (it read {show(f.value)}, moved from {show(f.reference)} beyond the tolerance "
        f"of {show(numeric.tolerance)}; a share pays {_credits(f.target)} if that holds)"
    )


def _reason(f: Finding, market: _Market, max_price: int) -> str:
    spec = market.spec
    window_h = spec.persistence.window_us // HOUR_US
    buyers = "; ".join(
        f"{b.account} net {_credits(b.net_qty)} shares (bought {_credits(b.bought_qty)} at "
        f"{_credits(b.low_price)}-{_credits(b.high_price)}), profit if outcome {f.outcome}: "
        f"{b.profit} micro-credits"
        for b in f.buyers[:REASON_ACCOUNTS_MAX]
    )
    more = len(f.buyers) - REASON_ACCOUNTS_MAX
    return (
        f"{len(f.buyers)} account(s) bought outcome {f.outcome} below "
        f"{_credits(max_price)} after source {f.source!r} changed to it{_moved(f, market)} "
        f"(capture sha256 {f.change_sha256}, seq {f.change_seq}), before it held through the "
        f"{window_h}h persistence window with a quorum of {spec.quorum} agreeing: {buyers}"
        + (f"; and {more} more" if more > 0 else "")
        + f". Distance from {_credits(f.target)} {_percent(f.distance_bp)}, concentration "
        f"{_percent(f.concentration_bp)}, score {_percent(f.score_bp)}"
    )


def _percent(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}%"
