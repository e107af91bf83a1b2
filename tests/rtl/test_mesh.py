"""The mesh and the whole fabric (egress → mesh → ingress) against ``noc.deliver``."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from glocal.golden import noc
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh
from glocal.rtl import mesh as mesh_rtl
from glocal.sim import streams
from glocal.sim.traffic import layer_tables, random_tables, run_steps

CFG = CoreConfig(axons=64, neurons=16, lanes=4, acc_bits=16)


def drain_bound(mesh, t, stall):
    """Cycles a step may take: every packet serialised on its busiest port, plus the
    longest route, plus slack for the pipeline. A deadlock or a lost packet exceeds it."""
    busiest = max(t.injected.max(), t.ejected.max(), max(t.links.values(), default=0))
    return int(busiest / (1 - stall) * 1.5) + 2 * (mesh.rows + mesh.cols) + 10


def check_steps(mesh, tables, fired, **kw):
    traffic = [noc.traffic(mesh, CFG, tables, f) for f in fired]
    bound = max(drain_bound(mesh, t, kw.get("stall", 0.0)) for t in traffic)
    results = run_steps(mesh, CFG, tables, fired, max_cycles=bound, **kw)
    for f, r, t in zip(fired, results, traffic, strict=True):
        want = noc.deliver(mesh, CFG, tables, f)
        # Tables drive every axon from one neuron at most, so "exactly once" is "== want".
        np.testing.assert_array_equal(r.axons, want, err_msg="lost or duplicated packets")
        np.testing.assert_array_equal(r.injected, t.injected)
        np.testing.assert_array_equal(r.ejected, t.ejected)
        assert r.links == t.links
    return results


@pytest.mark.parametrize("rows, cols", [(1, 1), (1, 2), (2, 2), (2, 3)])
def test_random_traffic_with_multicast_and_stalls_is_delivered_exactly_once(rows, cols):
    mesh = Mesh(rows, cols, depth=64, fanout=3)
    rng = np.random.default_rng(rows * 10 + cols)
    tables = random_tables(mesh, CFG, rng, fanout=3, p_silent=0.2)
    noc.check_tables(mesh, CFG, tables)
    fired = (rng.random((3, mesh.cores, CFG.neurons)) < [[[0.1]], [[0.5]], [[0.9]]])
    check_steps(mesh, tables, fired.astype(int), stall=0.3, seed=rows + cols, depth=2)


@pytest.mark.parametrize("rows, cols", [(2, 2), (2, 3)])
def test_every_neuron_firing_every_step_drains_without_loss(rows, cols):
    # The stress: all neurons of all cores fire, every axon of the chip is a target, and
    # every ejection port stalls half the time.
    mesh = Mesh(rows, cols, depth=64, fanout=4)
    per_core = CFG.axons // CFG.neurons    # fan-out that makes every axon a target
    rng = np.random.default_rng(7)
    tables = random_tables(mesh, CFG, rng, fanout=per_core, min_fanout=per_core)
    fired = np.ones((3, mesh.cores, CFG.neurons), dtype=int)
    results = check_steps(mesh, tables, fired, stall=0.5, seed=3)
    assert all((r.axons == 1).all() for r in results)


def test_layers_split_across_cores_reach_every_core_of_the_next_layer():
    mesh = Mesh(2, 3, depth=64, fanout=3)
    tables = layer_tables(mesh, CFG, [[0, 1], [2, 3, 4], [5]])
    noc.check_tables(mesh, CFG, tables)
    fired = np.ones((1, mesh.cores, CFG.neurons), dtype=int)
    (r,) = check_steps(mesh, tables, fired)
    assert r.axons[2:5, :32].all() and r.axons[5, :48].all()


def test_counters_count_injections_and_ejections_and_clear():
    mesh = Mesh(1, 2)
    dut = mesh_rtl.Mesh(mesh=mesh, cfg=CFG)

    async def bench(ctx):
        for c in range(2):
            ctx.set(dut.eject[c].ready, 1)
        for k in range(5):
            await streams.put(ctx, dut.inject[0], {"x": 1, "y": 0, "axon": k})
        await streams.put(ctx, dut.inject[1], {"x": 1, "y": 0, "axon": 9})
        await ctx.tick().repeat(6)
        assert ctx.get(dut.idle)
        assert [ctx.get(s) for s in dut.injected] == [5, 1]
        assert [ctx.get(s) for s in dut.ejected] == [0, 6]
        ctx.set(dut.clear, 1)
        await ctx.tick()
        assert [ctx.get(s) for s in dut.injected + dut.ejected] == [0] * 4

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("rows, cols", [(2, 3)])
def test_idle_is_low_while_a_packet_waits_in_any_router(rows, cols):
    mesh = Mesh(rows, cols)
    dut = mesh_rtl.Mesh(mesh=mesh, cfg=CFG)
    src = mesh.core(0, 0)

    async def bench(ctx):
        for dst in range(mesh.cores):
            assert ctx.get(dut.idle)
            await streams.put(ctx, dut.inject[src], {"x": dst % cols, "y": dst // cols,
                                                     "axon": dst})
            for _ in range(2 * (rows + cols)):          # it reaches dst's router and waits
                assert not ctx.get(dut.idle), f"idle with a packet for core {dst}"
                await ctx.tick()
            got = await streams.get(ctx, dut.eject[dst])
            assert got.axon == dst
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_one_core_loop_delivers_counts_and_holds_a_packet_for_a_missing_core():
    mesh = Mesh(1, 1)
    dut = mesh_rtl.Loop(mesh=mesh, cfg=CFG)

    async def bench(ctx):
        ctx.set(dut.eject[0].ready, 1)
        for k in range(3):
            await streams.put(ctx, dut.inject[0], {"x": 0, "y": 0, "axon": k})
        assert [ctx.get(s) for s in dut.injected + dut.ejected] == [3, 3]
        # x = 1 names a core the mesh does not have: the router would keep the packet
        # forever; the loop never takes it.
        ctx.set(dut.inject[0].valid, 1)
        ctx.set(dut.inject[0].payload, {"x": 1, "y": 0, "axon": 5})
        for _ in range(5):
            await ctx.tick()
            assert not ctx.get(dut.inject[0].ready) and not ctx.get(dut.eject[0].valid)
        ctx.set(dut.inject[0].valid, 0)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        assert [ctx.get(s) for s in dut.injected + dut.ejected] == [0, 0]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
