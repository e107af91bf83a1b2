"""bus.Pipe: every request and response passes once, in order, through registers only."""

import random

from amaranth.sim import Simulator

from glocal.rtl.bus import Pipe


def test_pipe_passes_every_transfer_in_order_under_random_stalls():
    dut = Pipe()
    rng = random.Random(1)
    sent = [(rng.getrandbits(32), rng.getrandbits(1), rng.getrandbits(32)) for _ in range(60)]
    answers = [(rng.getrandbits(32), rng.getrandbits(1)) for _ in sent]
    got_req, got_resp = [], []

    async def initiator(ctx):
        for (addr, write, data), _ in zip(sent, answers, strict=True):
            ctx.set(dut.up.req.payload, {"addr": addr, "write": write, "data": data})
            ctx.set(dut.up.req.valid, 1)
            await ctx.tick().until(dut.up.req.ready)
            ctx.set(dut.up.req.valid, 0)
            for _ in range(rng.randrange(3)):
                await ctx.tick()
            ctx.set(dut.up.resp.ready, 1)
            *_, payload = await ctx.tick().sample(dut.up.resp.payload).until(dut.up.resp.valid)
            got_resp.append((payload.data, payload.error))
            ctx.set(dut.up.resp.ready, 0)

    async def responder(ctx):
        for data, error in answers:
            ctx.set(dut.down.req.ready, 1)
            *_, req = await ctx.tick().sample(dut.down.req.payload).until(dut.down.req.valid)
            got_req.append((req.addr, req.write, req.data))
            ctx.set(dut.down.req.ready, 0)
            for _ in range(rng.randrange(3)):
                await ctx.tick()
            ctx.set(dut.down.resp.payload, {"data": data, "error": error})
            ctx.set(dut.down.resp.valid, 1)
            await ctx.tick().until(dut.down.resp.ready)
            ctx.set(dut.down.resp.valid, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(initiator)
    sim.add_testbench(responder, background=True)
    sim.run()
    assert got_req == sent
    assert got_resp == answers


def test_pipe_has_no_combinational_path_from_valid_to_valid():
    dut = Pipe()

    async def bench(ctx):
        ctx.set(dut.up.req.valid, 1)
        assert ctx.get(dut.down.req.valid) == 0   # not in the same cycle
        await ctx.tick()
        assert ctx.get(dut.down.req.valid) == 1
        assert ctx.get(dut.up.req.ready) == 0     # full: holds one transfer

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
