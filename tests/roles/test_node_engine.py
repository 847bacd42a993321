"""The sequencer, a replica and an API node's engine in one process, on the embedded
transport: the same code the roles run over NATS (tests/roles/test_cluster.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from augury.domain import commands as dc
from augury.domain import snapshot
from augury.engine import Engine, EngineStopped, SimulatedClock, open_engine
from augury.engine.entry import Entry
from augury.engine.recovery import replay
from augury.journal import load_or_create_key, open_store
from augury.journal.signing import public_key_bytes
from augury.roles.node_engine import NodeEngine
from augury.roles.replica import Replica
from augury.roles.sequencer import Sequencer
from augury.transport import Batcher, EmbeddedTransport, FeedError

T0 = 1_767_225_600_000_000
CREDIT = 1_000_000


class Cluster:
    def __init__(self, engine: Engine, bus: EmbeddedTransport, sequencer: Sequencer) -> None:
        self.engine = engine
        self.bus = bus
        self.sequencer = sequencer
        self.nodes: list[NodeEngine] = []
        self.path = Path()

    async def node(self, path: Path, name: str, deadline_s: float = 2.0) -> NodeEngine:
        store = open_store(path)
        replica = await asyncio.to_thread(Replica.load, store, SimulatedClock(T0))
        replica.follow(self.bus, store)
        batcher = Batcher(await self.bus.client(name), self.bus.limits)
        node = NodeEngine(name, self.bus, batcher, replica, store, submit_deadline_s=deadline_s)
        self.nodes.append(node)
        return node


@contextlib.asynccontextmanager
async def open_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    path = tmp_path / "journal.db"
    engine = open_engine(path, tmp_path / "operator.key", SimulatedClock(T0), checkpoint_every=7)
    bus = EmbeddedTransport()
    sequencer = Sequencer(engine, bus)
    await sequencer.start()
    made = Cluster(engine, bus, sequencer)
    made.path = path
    try:
        yield made
    finally:
        for node in made.nodes:
            node.close()
            await node.batcher.close()
            await node.replica.close()
            node.store.close()
        await sequencer.close()
        engine.close()
        await bus.close()


def run(tmp_path: Path, scenario: Callable[[Cluster], Awaitable[None]]) -> None:
    async def main() -> None:
        async with open_cluster(tmp_path) as cluster:
            await scenario(cluster)

    asyncio.run(main())


async def _market(node: NodeEngine) -> None:
    for account in ("ann", "bob"):
        assert (await node.asubmit(dc.OpenAccount(account), account, "open")).ok
        grant = dc.GrantCredits(account, 1_000 * CREDIT, "grant")
        assert (await node.asubmit(grant, account, "grant")).ok
    create = dc.CreateMarket("m1", "ann", "Will it?", ("Yes", "No"), T0 + 86_400_000_000)
    result = await node.asubmit(create, "ann", "create")
    assert result.ok, result


def _order(account: str, side: dc.Side, price: int, qty: int = 10) -> dc.PlaceOrder:
    return dc.PlaceOrder(account, "m1", 0, side, dc.Token.YES, qty * CREDIT, price)


def test_a_node_writes_through_the_sequencer_and_reads_its_replica(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        node = await cluster.node(path, "api-a")
        await _market(node)
        result, seq = await node.asubmit_seq(_order("ann", dc.Side.BUY, 400_000), "ann", "o1")
        assert (result.ok and seq == cluster.engine.head[0]) or seq <= cluster.engine.head[0]
        # answered only once the node's own replica holds it: read-your-writes on this node
        assert node.replica.seq >= seq
        assert node.query(lambda ex: len(ex.open_orders["ann"])).result() == 1
        # a second node sees the same state once it reaches the same seq
        other = await cluster.node(path, "api-b")
        assert await other.replica.wait_for(seq, 5.0)
        mine = node.query(snapshot.dump).result()
        theirs = other.query(snapshot.dump).result()
        assert mine == theirs

    run(tmp_path, scenario)


def test_the_replica_equals_a_fresh_replay_of_the_journal(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        node = await cluster.node(path, "api-a")
        await _market(node)
        for i in range(30):  # crosses several checkpoints (checkpoint_every=7)
            side, account = (dc.Side.BUY, "ann") if i % 2 else (dc.Side.SELL, "bob")
            await node.asubmit(_order(account, side, 500_000, qty=1 + i % 3), account, f"k{i}")
        head = cluster.engine.head
        assert await node.replica.wait_for(head[0], 5.0)
        assert node.replica.head == head
        with open_store(path) as store:
            fresh = replay(store)
        assert node.query(snapshot.dump).result() == snapshot.dump(fresh.exchange)
        # the engine's operator key, learnt from its signed checkpoints (for /journal)
        key = load_or_create_key(path.parent / "operator.key")
        assert node.replica.operator_key == public_key_bytes(key)
        with open_store(path) as store:
            reloaded = Replica.load(store, SimulatedClock(T0))
        assert reloaded.operator_key == public_key_bytes(key)

    run(tmp_path, scenario)


def test_a_resent_key_runs_once_and_gets_the_first_answer(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        a = await cluster.node(path, "api-a")
        b = await cluster.node(path, "api-b")
        await _market(a)
        order = _order("ann", dc.Side.BUY, 300_000)
        first, seq1 = await a.asubmit_seq(order, "ann", "same-key")
        again, seq2 = await b.asubmit_seq(order, "ann", "same-key")  # a retry via another node
        assert first.ok and again.ok and seq1 == seq2
        assert again.events == first.events
        assert a.query(lambda ex: len(ex.open_orders["ann"])).result() == 1

    run(tmp_path, scenario)


def test_commands_without_a_key_get_one_from_their_node(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        node = await cluster.node(path, "api-a")
        await node.asubmit(dc.OpenAccount("cat"))
        with open_store(path) as store:
            last = list(store.read(1))[-1]
        from augury.engine.entry import decode_entry

        entry: Entry = decode_entry(last.body)
        assert entry.key.startswith("n:api-a:")

    run(tmp_path, scenario)


def test_a_refusal_has_no_seq_and_changes_nothing(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        node = await cluster.node(path, "api-a")
        before = cluster.engine.head
        result, seq = await node.asubmit_seq(_order("nobody", dc.Side.BUY, 400_000), "nobody", "x")
        assert not result.ok and result.code and seq == 0
        assert cluster.engine.head == before

    run(tmp_path, scenario)


def test_without_a_sequencer_writes_fail_and_reads_still_work(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        node = await cluster.node(path, "api-a", deadline_s=0.5)
        await _market(node)
        await cluster.sequencer.close()
        with pytest.raises(EngineStopped):
            await node.asubmit(dc.OpenAccount("dan"), "dan", "open")
        assert node.resent >= 1  # it tried again with the same key before giving up
        assert node.query(lambda ex: "m1" in ex.markets).result()

    run(tmp_path, scenario)


def test_subscribers_see_every_command_record_in_order(tmp_path: Path) -> None:
    async def scenario(cluster: Cluster) -> None:
        path = cluster.path
        node = await cluster.node(path, "api-a")
        seen: list[int] = []
        node.subscribe(lambda seq, _ts, _entry: seen.append(seq), reads_state=False)
        await _market(node)
        assert seen == sorted(seen) and len(seen) == 5

    run(tmp_path, scenario)


def test_a_record_that_does_not_follow_the_head_is_refused(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "j.db", tmp_path / "k", SimulatedClock(T0))
    engine.submit(dc.OpenAccount("ann"), "ann", "o").result()
    engine.submit(dc.OpenAccount("bob"), "bob", "o").result()
    engine.close()
    with open_store(tmp_path / "j.db") as store:
        records = list(store.read(1))
    empty = Replica.load(open_store(tmp_path / "empty.db"), SimulatedClock(T0))
    with pytest.raises(FeedError):
        empty.apply(records[1:])  # seq 2 cannot follow seq 0
    empty.apply(records[:1])
    assert empty.seq == 1
