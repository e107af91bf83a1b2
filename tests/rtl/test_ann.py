"""Hybrid coding in the RTL, in Amaranth's simulator: every block against the reference.

The ReLU/requantisation datapath over its corners; the axon bank's OR merge of values; a
hybrid core (multi-bit inputs, SNN and ANN steps, learning on) stepped through its bus and
compared with :func:`glocal.golden.reference.step` after every step, its output stream
(neuron ids with values) included; the registers' refusals; values through egress and
ingress.
"""

import functools

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from glocal.golden import fixed, noc, reference
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Dest, Mesh
from glocal.rtl.arith import activate
from glocal.rtl.core import Core
from glocal.rtl.spikeout import Egress, Ingress
from glocal.sim import streams
from glocal.sim.coredrv import AmaranthPort, CoreDriver, address
from glocal.sim.cores import random_hybrid_run

HYB = CoreConfig(axons=12, neurons=8, lanes=2, acc_bits=15, act_bits=3)
WIDE = CoreConfig(axons=5, neurons=4, lanes=4, acc_bits=13, act_bits=2)
SPIKES = CoreConfig(axons=12, neurons=8, lanes=2, acc_bits=12)


def test_activate_equals_the_reference_over_currents_and_shifts():
    cfg = HYB
    lo, hi = cfg.out_shift_range
    m = Module()
    value = Signal(signed(cfg.i_bits))
    shift = Signal(range(hi + 1))
    out = Signal(unsigned(cfg.act_bits))
    m.d.comb += out.eq(activate(value, shift, cfg.act_bits))
    rng = np.random.default_rng(0)
    values = [fixed.smin(cfg.i_bits), -2, -1, 0, 1, 2, 3, 7, 8, 15, 16, 17,
              fixed.smax(cfg.i_bits)] + [int(v) for v in rng.integers(-5000, 5000, 40)]
    shifts = [lo, 1, 2, 3, 4, hi - 1, hi]
    got = {}

    async def bench(ctx):
        for v in values:
            for s in shifts:
                ctx.set(value, v)
                ctx.set(shift, s)
                got[v, s] = ctx.get(out)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    for (v, s), a in got.items():
        assert a == reference.activate(cfg, np.array(v), s), f"I = {v}, out_shift = {s}"


def simulate(cfg, bench, background=(), single_port=False):
    dut = Core(cfg=cfg, single_port=single_port)
    out = {}

    async def tb(ctx):
        out["value"] = await bench(CoreDriver(cfg, AmaranthPort(ctx, dut)), ctx, dut)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for other in background:
        sim.add_testbench(functools.partial(other, dut=dut), background=True)
    sim.add_testbench(tb)
    sim.run()
    return out["value"]


@pytest.mark.parametrize("cfg,seed,single_port", [
    (HYB, 1, False), (HYB, 2, False), (HYB, 3, False), (HYB, 4, False), (WIDE, 5, False),
    # W and H in single-port RAM (``Core(single_port=True)``).
    pytest.param(HYB, 1, True, id="single-hyb"), pytest.param(WIDE, 5, True, id="single-wide")])
def test_hybrid_core_steps_and_outputs_equal_reference(cfg, seed, single_port):
    run = random_hybrid_run(cfg, seed, 5)
    want = run.expected(cfg)
    started = [0]
    taken = []          # (step, neuron, value) from the output stream

    async def sink(ctx, *, dut):
        rng = np.random.default_rng(seed)
        while True:
            ctx.set(dut.spikes.ready, int(rng.random() < 0.5))
            _, _, valid, ready, nid, value = await ctx.tick().sample(
                dut.spikes.valid, dut.spikes.ready, dut.spikes.payload.neuron,
                dut.spikes.payload.value)
            if valid and ready:
                taken.append((started[0] - 1, nid, value))

    async def bench(drv, ctx, dut):
        await drv.load(run.params_at(0), run.state)
        for k, x in enumerate(run.xs):
            regs = run.params_at(k).regs
            await drv.write_reg(Reg.LEARN, int(regs.learn))
            await drv.write_reg(Reg.MODE, int(regs.mode))
            await drv.send_inputs(x)
            await drv.port.start()
            started[0] += 1
            await drv.port.wait_idle()
            got = await drv.read_state()
            for name in ("u", "s", "hebb", "t_last"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want[k], name),
                                              err_msg=f"step {k} ({regs.mode.name}): {name}")
            assert (got.t, got.refresh) == (want[k].t, want[k].refresh), f"step {k}"

    simulate(cfg, bench, background=[sink], single_port=single_port)
    for k, w in enumerate(want):
        sent = sorted((nid, v) for step, nid, v in taken if step == k)
        assert sent == [(int(j), int(w.s[j])) for j in np.flatnonzero(w.s)], f"step {k}"


def test_axon_values_merge_by_or_and_a_zero_write_clears():
    async def bench(drv, ctx, dut):
        await drv.write_many(Region.AXON, [5], 3)
        await drv.write_many(Region.AXON, [2], 3)
        assert (await drv.read_many(Region.AXON, 1, 3))[0] == 7
        await drv.write_many(Region.AXON, [0], 3)
        assert (await drv.read_many(Region.AXON, 1, 3))[0] == 0
        await drv.write_many(Region.AXON, [1], 3)
        ctx.set(dut.spikes.ready, 1)
        await streams.put(ctx, dut.axons, {"axon": 3, "value": 4})
        await streams.put(ctx, dut.axons, {"axon": 11, "value": 6})
        return list(await drv.read_many(Region.AXON, HYB.axons))

    got = simulate(HYB, bench)
    assert got == [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6]


def test_registers_refuse_ann_without_activations_and_too_large_shifts():
    def refused(cfg, reg, value):
        async def bench(drv, ctx, dut):
            (_, err), = await drv.port.transact([(address(Region.REGS, int(reg)), 1, value)])
            return err, await drv.read_reg(reg)
        return simulate(cfg, bench)

    hi = HYB.out_shift_range[1]
    assert refused(SPIKES, Reg.MODE, 1) == (1, 0)
    assert refused(HYB, Reg.MODE, 2) == (1, 0)
    assert refused(HYB, Reg.MODE, 1) == (0, 1)
    assert refused(HYB, Reg.OUT_SHIFT, hi + 1) == (1, 0)
    assert refused(HYB, Reg.OUT_SHIFT, hi) == (0, hi)


def test_packets_carry_the_source_neurons_value_to_the_axon():
    mesh = Mesh(1, 2, depth=8, fanout=2)
    table = noc.route_table(mesh, HYB, [[Dest(1, 2), Dest(1, 9)], [], [Dest(0, 4)]], core=0)
    eg, ig = Egress(mesh=mesh, cfg=HYB, table=table), Ingress(mesh=mesh, cfg=HYB)
    m = Module()
    m.submodules.eg, m.submodules.ig = eg, ig
    got, axons = [], []

    async def bench(ctx):
        for neuron, value in ((0, 5), (2, 7), (0, 1)):
            await streams.put(ctx, eg.spikes, {"neuron": neuron, "value": value})

    async def sink(ctx):
        for _ in range(5):
            p = await streams.get(ctx, eg.packets)
            got.append((int(p.axon), int(p.value)))
            await streams.put(ctx, ig.packets, {"x": int(p.x), "y": int(p.y),
                                                "axon": int(p.axon), "value": int(p.value)})

    async def axon_sink(ctx):
        for _ in range(5):
            a = await streams.get(ctx, ig.axons, idle=1)
            axons.append((int(a.axon), int(a.value)))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench, background=True)
    sim.add_testbench(sink)
    sim.add_testbench(axon_sink)
    sim.run()
    assert got == [(2, 5), (9, 5), (4, 7), (2, 1), (9, 1)]
    assert axons == got
