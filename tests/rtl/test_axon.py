"""The double-buffered axon bitmap and its scanner, in Amaranth's simulator."""

import numpy as np
from amaranth.sim import Simulator

from glocal.golden.config import CoreConfig
from glocal.rtl.axon import Axon
from glocal.sim import streams


def test_scanner_lists_each_step_inputs_while_next_inputs_arrive():
    cfg = CoreConfig(axons=37, neurons=8, lanes=8)
    rng = np.random.default_rng(5)
    steps = [rng.random(cfg.axons) < d for d in (0.0, 0.1, 0.5, 1.0, 0.3)]
    dut = Axon(cfg=cfg)
    emitted = []
    want = [int(i) for x in steps for i in np.flatnonzero(x)]

    async def bench(ctx):
        for k in range(len(steps) + 1):
            # Scan step k-1 (already loaded) while writing step k into the pending bank.
            if k:
                ctx.set(dut.start, 1)
                await ctx.tick()
                ctx.set(dut.start, 0)
            if k < len(steps):
                for i in np.flatnonzero(steps[k]):
                    await streams.put(ctx, dut.set, {"index": int(i), "value": 1})
                # Read back the pending bank through the peek port.
                for i in range(cfg.axons):
                    ctx.set(dut.peek_addr, i)
                    await ctx.tick()
                    assert ctx.get(dut.peek_data) == int(steps[k][i]), (k, i)
            await ctx.tick().until(dut.idle)

    async def sink(ctx):
        ctx.set(dut.rows.ready, 1)
        for _ in want:
            idx, = await ctx.tick().sample(dut.rows.payload.index).until(dut.rows.valid)
            emitted.append(idx)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.add_testbench(sink)
    sim.run()
    assert emitted == want


def test_written_zero_clears_a_pending_bit():
    cfg = CoreConfig(axons=20, neurons=8, lanes=8)
    dut = Axon(cfg=cfg)

    async def bench(ctx):
        await streams.put(ctx, dut.set, {"index": 17, "value": 1})
        await streams.put(ctx, dut.set, {"index": 3, "value": 1})
        await streams.put(ctx, dut.set, {"index": 17, "value": 0})
        for i, want in ((3, 1), (17, 0)):
            ctx.set(dut.peek_addr, i)
            await ctx.tick()
            assert ctx.get(dut.peek_data) == want

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
