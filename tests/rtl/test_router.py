"""One router in Amaranth's simulator: XY routing, round-robin fairness, backpressure."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from glocal.golden import noc
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh, Port
from glocal.rtl.router import Router
from glocal.sim import streams

CFG = CoreConfig(axons=256, neurons=16, lanes=4, acc_bits=16)
MESH = Mesh(3, 3)
HERE = MESH.core(1, 1)          # the centre: all five ports lead somewhere
#: A destination core reached through each output of the centre router.
THROUGH = {Port.N: MESH.core(1, 0), Port.E: MESH.core(2, 2), Port.S: MESH.core(1, 2),
           Port.W: MESH.core(0, 0), Port.LOCAL: HERE}


def packet(core, axon):
    x, y = MESH.xy(core)
    return {"x": x, "y": y, "axon": axon}


def run(dut, *benches, cycles=2000):
    """Run ``benches`` to completion; fail (rather than hang) if one still waits after
    ``cycles`` cycles."""
    async def watchdog(ctx):
        # A loop, not ctx.tick().repeat(): a background testbench left inside repeat()'s
        # async generator fails to close when the simulation ends.
        for _ in range(cycles):
            await ctx.tick()
        raise AssertionError(f"a testbench still waits after {cycles} cycles: a packet "
                             f"was lost or is stuck")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for b in benches:
        sim.add_testbench(b)
    sim.add_testbench(watchdog, background=True)
    sim.run()


def test_every_input_reaches_every_output_it_routes_to():
    dut = Router(mesh=MESH, cfg=CFG, x=1, y=1)
    seen = []

    async def bench(ctx):
        for p in Port:
            for q in Port:
                assert noc.out_port(MESH, HERE, THROUGH[q]) is q
                axon = 5 * p + q
                await streams.put(ctx, dut.i[p], packet(THROUGH[q], axon))
                for o in dut.o:
                    ctx.set(o.ready, 1)
                for _ in range(3):
                    _, _, *v = await ctx.tick().sample(
                        *[o.valid for o in dut.o], *[o.payload for o in dut.o])
                    for k in Port:
                        if v[k]:
                            seen.append((p, k, v[5 + k].axon, (v[5 + k].x, v[5 + k].y)))
                for o in dut.o:
                    ctx.set(o.ready, 0)
                assert ctx.get(dut.idle)

    run(dut, bench)
    assert seen == [(p, q, 5 * p + q, MESH.xy(THROUGH[q])) for p in Port for q in Port]


def test_round_robin_serves_all_contending_inputs_in_turn():
    dut = Router(mesh=MESH, cfg=CFG, x=1, y=1)
    order = []

    def feeder(p):
        async def feed(ctx):
            for k in range(12):
                await streams.put(ctx, dut.i[p], packet(HERE, 10 * p + k % 10))
        return feed

    async def sink(ctx):
        for _ in range(60):
            order.append(int((await streams.get(ctx, dut.o[Port.LOCAL])).axon) // 10)

    run(dut, *[feeder(p) for p in Port], sink)
    # Once all five queues are full every window of five grants holds each input once.
    for k in range(10, 55, 5):
        assert sorted(order[k:k + 5]) == [0, 1, 2, 3, 4], order
    assert [order.count(p) for p in Port] == [12] * 5


def test_stalled_output_holds_packets_without_loss_or_duplication():
    depth = 3
    dut = Router(mesh=MESH, cfg=CFG, x=1, y=1, depth=depth)
    sent = {p: [] for p in Port}
    got = []

    def feeder(p):
        async def feed(ctx):
            for k in range(8):
                await streams.put(ctx, dut.i[p], packet(THROUGH[Port.E], 10 * p + k))
                sent[p].append(10 * p + k)
        return feed

    async def stalled_sink(ctx):
        await ctx.tick().repeat(40)
        # Nothing left while the east output refused: each input FIFO is full, and every
        # input is refusing the next packet.
        assert [len(sent[p]) for p in Port] == [depth] * 5
        assert not any(ctx.get(i.ready) for i in dut.i)
        assert not ctx.get(dut.idle)
        while len(got) < 40:
            got.append(int((await streams.get(ctx, dut.o[Port.E])).axon))
        await ctx.tick().repeat(5)
        assert not ctx.get(dut.o[Port.E].valid) and ctx.get(dut.idle)

    run(dut, *[feeder(p) for p in Port], stalled_sink)
    assert sorted(got) == sorted(a for p in Port for a in sent[p])
    for p in Port:      # one input's packets stay in order
        assert [a for a in got if a // 10 == p] == sent[p]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_traffic_with_stalls_goes_where_xy_routing_says(seed):
    rng = np.random.default_rng(seed)
    dut = Router(mesh=MESH, cfg=CFG, x=1, y=1, depth=2)
    plan = {p: [(int(rng.integers(MESH.cores)), k) for k in range(30)] for p in Port}
    got = {q: [] for q in Port}
    want = {q: sorted((p, k) for p in Port for d, k in plan[p]
                      if noc.out_port(MESH, HERE, d) is q) for q in Port}

    def feeder(p):
        async def feed(ctx):
            for d, k in plan[p]:
                await streams.put(ctx, dut.i[p], packet(d, 30 * p + k),
                                  idle=int(rng.integers(0, 3)))
        return feed

    def sink(q):
        async def take(ctx):
            for _ in want[q]:
                pkt = await streams.get(ctx, dut.o[q], idle=int(rng.integers(0, 3)))
                assert noc.out_port(MESH, HERE, MESH.core(pkt.x, pkt.y)) is q
                got[q].append(divmod(int(pkt.axon), 30))
        return take

    run(dut, *[feeder(p) for p in Port], *[sink(q) for q in Port])
    for q in Port:
        assert sorted(got[q]) == want[q]
        for p in Port:
            ks = [k for pp, k in got[q] if pp == p]
            assert ks == sorted(ks), "one input's packets to one output stay in order"


def test_an_offer_refused_stays_on_the_same_packet_when_others_arrive():
    dut = Router(mesh=MESH, cfg=CFG, x=1, y=1)
    offered = []

    async def bench(ctx):
        await streams.put(ctx, dut.i[Port.W], packet(THROUGH[Port.E], 1))
        await ctx.tick().repeat(2)
        # N comes first in the round-robin order, but W's packet is already on offer.
        await streams.put(ctx, dut.i[Port.N], packet(THROUGH[Port.E], 2))
        for _ in range(4):
            _, _, valid, p = await ctx.tick().sample(dut.o[Port.E].valid, dut.o[Port.E].payload)
            offered.append((valid, int(p.axon)))
        first = await streams.get(ctx, dut.o[Port.E])
        second = await streams.get(ctx, dut.o[Port.E])
        offered.append((int(first.axon), int(second.axon)))

    run(dut, bench)
    assert offered == [(1, 1)] * 4 + [(1, 2)]
