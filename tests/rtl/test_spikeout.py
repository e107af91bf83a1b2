"""Egress (routing-table lookup, multicast) and its table-write port, in Amaranth's simulator."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from glocal.golden import noc
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Dest, Mesh
from glocal.rtl.spikeout import Egress, Ingress
from glocal.sim import streams

CFG = CoreConfig(axons=64, neurons=16, lanes=4, acc_bits=16)
MESH = Mesh(2, 3, depth=48, fanout=4)

#: Both egress organisations: with its FIFOs and pointer register, and ``lean`` (iCE40).
LEAN = [pytest.param(False, id="full"), pytest.param(True, id="lean")]
#: Cycles from a spike taken to its first packet offered: FIFO, pointer read, pointer
#: register, destination read, FIFO; ``lean``: pointer read, destination read.
FIRST_PACKET = {False: 5, True: 2}


def table(seed):
    rng = np.random.default_rng(seed)
    targets = [[Dest(int(rng.integers(MESH.cores)), int(a))
                for a in rng.choice(CFG.axons, int(rng.integers(0, 5)), replace=False)]
               for _ in range(CFG.neurons)]
    return noc.route_table(MESH, CFG, targets, core=0)


def run_egress(dut, spikes, n_out, *, rng=None, before=None):
    """Offer ``spikes``; take ``n_out`` packets; random idles on both sides with ``rng``."""
    got = []

    async def source(ctx):
        if before is not None:
            await before(ctx)
        for j in spikes:
            await streams.put(ctx, dut.spikes, {"neuron": int(j)},
                              idle=int(rng.integers(0, 3)) if rng is not None else 0)

    async def sink(ctx):
        for _ in range(n_out):
            p = await streams.get(ctx, dut.packets,
                                  idle=int(rng.integers(0, 3)) if rng is not None else 0)
            got.append((noc.Mesh.core(MESH, p.x, p.y), int(p.axon)))
        await ctx.tick().repeat(4)
        assert not ctx.get(dut.packets.valid) and ctx.get(dut.idle), "extra packets"

    async def watchdog(ctx):
        for _ in range(10 * (len(spikes) + n_out + 100)):   # not .repeat(): see test_router.run()
            await ctx.tick()
        raise AssertionError(f"{len(got)} of {n_out} packets came out")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.add_testbench(watchdog, background=True)
    sim.run()
    return got


def expected(t, spikes):
    return [(d.core, d.axon) for j in spikes for d in t.targets(int(j))]


@pytest.mark.parametrize("lean", LEAN)
def test_each_spike_emits_its_destinations_in_table_order_under_stalls(lean):
    t = table(1)
    rng = np.random.default_rng(2)
    spikes = rng.integers(0, CFG.neurons, 200)       # repeats, silent neurons, fan-out 0..4
    want = expected(t, spikes)
    got = run_egress(Egress(mesh=MESH, cfg=CFG, table=t, lean=lean), spikes, len(want), rng=rng)
    assert got == want


@pytest.mark.parametrize("lean", LEAN)
def test_tables_written_through_the_write_port_take_effect(lean):
    t = table(3)
    dut = Egress(mesh=MESH, cfg=CFG, lean=lean)

    async def write(ctx):
        for dest, words in ((0, t.pointer_words(MESH)), (1, t.dest_words(MESH, CFG))):
            for addr, word in enumerate(words):
                await streams.put(ctx, dut.write, {"dest": dest, "addr": addr, "data": word})

    spikes = list(range(CFG.neurons)) * 2
    want = expected(t, spikes)
    assert run_egress(dut, spikes, len(want), before=write) == want


@pytest.mark.parametrize("lean", LEAN)
def test_fan_out_of_one_sustains_one_packet_per_cycle(lean):
    t = noc.route_table(MESH, CFG, [[Dest(1, j)] for j in range(CFG.neurons)], core=0)
    dut = Egress(mesh=MESH, cfg=CFG, table=t, lean=lean)
    cycles = []

    async def bench(ctx):
        ctx.set(dut.packets.ready, 1)
        ctx.set(dut.spikes.valid, 1)
        n = 0
        for cycle in range(40):
            ctx.set(dut.spikes.payload.neuron, n % CFG.neurons)
            _, _, took, out = await ctx.tick().sample(dut.spikes.ready, dut.packets.valid)
            n += took
            if out:
                cycles.append(cycle)
            if n == 3 * CFG.neurons:
                break

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    first = FIRST_PACKET[lean]
    assert cycles == list(range(first, first + len(cycles))) and len(cycles) >= 30


def test_ingress_hands_the_axon_over_from_a_register_and_passes_backpressure():
    dut = Ingress(mesh=MESH, cfg=CFG)

    async def bench(ctx):
        assert ctx.get(dut.idle) and ctx.get(dut.packets.ready)
        ctx.set(dut.packets.valid, 1)
        ctx.set(dut.packets.payload, {"x": 2, "y": 1, "axon": 37})
        ctx.set(dut.axons.ready, 0)
        assert not ctx.get(dut.axons.valid)            # registered: not in the same cycle
        await ctx.tick()
        ctx.set(dut.packets.payload, {"x": 2, "y": 1, "axon": 38})
        assert ctx.get(dut.axons.valid) and ctx.get(dut.axons.payload.axon) == 37
        assert not ctx.get(dut.idle)
        assert not ctx.get(dut.packets.ready)          # full, and the core does not take it
        await ctx.tick()
        assert ctx.get(dut.axons.payload.axon) == 37   # held
        ctx.set(dut.axons.ready, 1)
        assert ctx.get(dut.packets.ready)              # taken: the next one may come in
        await ctx.tick()
        ctx.set(dut.packets.valid, 0)
        assert ctx.get(dut.axons.valid) and ctx.get(dut.axons.payload.axon) == 38
        await ctx.tick()
        assert not ctx.get(dut.axons.valid) and ctx.get(dut.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("lean", LEAN)
def test_egress_is_busy_from_the_cycle_a_spike_is_offered_until_its_packets_left(lean):
    # The chip starts the next step on "every core ready and the fabric idle"; a core may
    # raise ready in the cycle it offers its last spike, so that spike must count as busy.
    t = noc.route_table(MESH, CFG, [[Dest(1, 0), Dest(2, 0)]], core=0)
    dut = Egress(mesh=MESH, cfg=CFG, table=t, lean=lean)
    busy = []

    async def bench(ctx):
        assert ctx.get(dut.idle)
        ctx.set(dut.spikes.valid, 1)
        ctx.set(dut.spikes.payload.neuron, 0)
        await ctx.delay(1e-9)
        busy.append(not ctx.get(dut.idle))
        await ctx.tick()
        ctx.set(dut.spikes.valid, 0)
        ctx.set(dut.packets.ready, 1)
        for _ in range(8):
            _, _, idle, took = await ctx.tick().sample(dut.idle, dut.packets.valid)
            busy.append((not idle, bool(took)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    first = FIRST_PACKET[lean]
    assert busy == [True] + [(True, False)] * (first - 1) + [(True, True)] * 2 + \
        [(False, False)] * (7 - first)


@pytest.mark.parametrize("lean", LEAN)
def test_the_read_port_returns_both_tables_and_lookups_still_work(lean):
    t = table(4)
    dut = Egress(mesh=MESH, cfg=CFG, table=t, lean=lean)
    want = [(0, a, w) for a, w in enumerate(t.pointer_words(MESH))] + \
           [(1, a, w) for a, w in enumerate(t.dest_words(MESH, CFG))]
    got = []

    async def reader(ctx):
        for dest, addr, _ in want:
            ctx.set(dut.read.en, 1)
            ctx.set(dut.read.dest, dest)
            ctx.set(dut.read.addr, addr)
            await ctx.tick()
            ctx.set(dut.read.en, 0)
            ctx.set(dut.read.addr, (addr + 5) % CFG.neurons)   # data must not follow addr
            got.append(ctx.get(dut.read.data))

    spikes = list(range(CFG.neurons))
    assert run_egress(dut, spikes, len(expected(t, spikes)), before=reader) == \
        expected(t, spikes)
    assert got == [w for _, _, w in want]
