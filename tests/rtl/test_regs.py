# amaranth: UnusedElaboratable=no
"""Regs: the bus request is registered, decoded a cycle later, and served from registers.

The core's whole behaviour through this block is checked against the reference in
``test_core.py``; here, the timing that keeps the bus's wires and the decode off the
memories' write enables (``docs/boards.md``, the chip's clock).
"""

import pytest
from amaranth.sim import Simulator

from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region, pack_address
from glocal.rtl.regs import Regs

CFG = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)


def _run(bench, **kwargs):
    dut = Regs(cfg=CFG, **kwargs)
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def testbench(ctx):
        await bench(ctx, dut)

    sim.add_testbench(testbench)
    sim.run()


def test_a_memory_write_is_served_from_the_registered_request_two_cycles_after():
    log = []

    async def bench(ctx, dut):
        ctx.set(dut.bus.req.payload, {"addr": pack_address(0, Region.THETA, 5), "write": 1,
                                      "data": 1234})
        ctx.set(dut.bus.req.valid, 1)
        assert ctx.get(dut.bus.req.ready) == 1
        assert ctx.get(dut.mem.write) == 0
        await ctx.tick()
        # The bus now offers something else: the request taken is the one served.
        ctx.set(dut.bus.req.payload, {"addr": pack_address(0, Region.BIAS, 7), "write": 0,
                                      "data": 9})
        ctx.set(dut.bus.req.valid, 0)
        for _ in range(4):
            log.append((ctx.get(dut.mem.write), ctx.get(dut.mem.read), ctx.get(dut.mem.region),
                        ctx.get(dut.mem.index), ctx.get(dut.mem.data)))
            await ctx.tick()
        ctx.set(dut.bus.resp.ready, 1)
        *_, resp = await ctx.tick().sample(dut.bus.resp.payload).until(dut.bus.resp.valid)
        assert resp.error == 0

    _run(bench)
    strobes = [k for k, (w, *_) in enumerate(log) if w]
    assert strobes == [1]                       # decode cycle, then served: once
    assert log[1][1:] == (0, Region.THETA, 5, 1234)


def test_a_memory_request_waits_while_the_core_cannot_serve_it():
    async def bench(ctx, dut):
        ctx.set(dut.mem.stall, 1)
        ctx.set(dut.bus.req.payload, {"addr": pack_address(0, Region.U, 3), "write": 0, "data": 0})
        ctx.set(dut.bus.req.valid, 1)
        await ctx.tick()
        ctx.set(dut.bus.req.valid, 0)
        for _ in range(6):
            assert ctx.get(dut.mem.read) == 0
            await ctx.tick()
        ctx.set(dut.mem.stall, 0)
        assert ctx.get(dut.mem.read) == 1
        assert ctx.get(dut.mem.index) == 3
        await ctx.tick()
        ctx.set(dut.mem.rdata, 77)
        ctx.set(dut.bus.resp.ready, 1)
        *_, resp = await ctx.tick().sample(dut.bus.resp.payload).until(dut.bus.resp.valid)
        assert (resp.data, resp.error) == (77, 0)

    _run(bench)


def test_a_bad_register_value_is_refused_after_the_registered_decode():
    async def bench(ctx, dut):
        ctx.set(dut.bus.req.payload, {"addr": pack_address(0, Region.REGS, int(Reg.REFRESH)),
                                      "write": 1, "data": CFG.axons})
        ctx.set(dut.bus.req.valid, 1)
        await ctx.tick()
        ctx.set(dut.bus.req.valid, 0)
        ctx.set(dut.bus.resp.ready, 1)
        *_, resp = await ctx.tick().sample(dut.bus.resp.payload).until(dut.bus.resp.valid)
        assert resp.error == 1
        assert ctx.get(dut.refresh) == 0

    _run(bench)


@pytest.mark.parametrize("latency", [2, 3, 4])
def test_a_memory_read_captures_the_data_read_latency_cycles_after_its_strobe(latency):
    # The core answers ``read_latency`` cycles after the strobe: the data before then
    # must not be the one returned.
    async def bench(ctx, dut):
        ctx.set(dut.bus.req.payload, {"addr": pack_address(0, Region.U, 3), "write": 0,
                                      "data": 0})
        ctx.set(dut.bus.req.valid, 1)
        await ctx.tick().until(dut.mem.read)
        ctx.set(dut.bus.req.valid, 0)
        for k in range(1, latency + 2):
            ctx.set(dut.mem.rdata, 100 + k)          # the value k cycles after the strobe
            await ctx.tick()
        ctx.set(dut.bus.resp.ready, 1)
        *_, resp = await ctx.tick().sample(dut.bus.resp.payload).until(dut.bus.resp.valid)
        assert (resp.data, resp.error) == (100 + latency, 0)

    _run(bench, read_latency=latency)


def test_a_read_latency_under_two_is_refused():
    with pytest.raises(ValueError, match="read_latency must be 2 or more"):
        Regs(cfg=CFG, read_latency=1)
