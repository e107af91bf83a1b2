"""The single-port RAM (flat, and tiled from SPRAM models) against a dictionary."""

import numpy as np
import pytest
from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data
from amaranth.sim import Simulator

from glocal.rtl.spram import SinglePort, tiles


def run_random(shape, depth, tiled, seed, ops=600):
    """Random lane writes and reads, each read checked against the last value written."""
    rng = np.random.default_rng(seed)
    dut = SinglePort(shape=shape, depth=depth, tiles=tiled)
    lane_bits = Shape.cast(shape.elem_shape).width
    # Addresses from a few spots, among them the ends of every tile bank.
    spots = sorted({0, depth - 1, *(min(depth - 1, k * (1 << 14) + d) for k in range(4)
                                    for d in (-1, 0, 1) if k * (1 << 14) + d >= 0),
                    *rng.integers(0, depth, 20).tolist()})
    model = {}

    async def bench(ctx):
        for _ in range(ops):
            addr = int(rng.choice(spots))
            if rng.random() < 0.5:
                en = int(rng.integers(1, 1 << shape.length))
                vals = rng.integers(0, 1 << lane_bits, shape.length).tolist()
                ctx.set(dut.addr, addr)
                ctx.set(dut.w_en, en)
                ctx.set(dut.w_data.as_value(), sum(v << (k * lane_bits)
                                                   for k, v in enumerate(vals)))
                await ctx.tick()
                ctx.set(dut.w_en, 0)
                old = model.get(addr, [0] * shape.length)
                model[addr] = [vals[k] if en >> k & 1 else old[k] for k in range(shape.length)]
            else:
                ctx.set(dut.addr, addr)
                ctx.set(dut.r_en, 1)
                await ctx.tick()
                ctx.set(dut.r_en, 0)
                raw = ctx.get(dut.r_data.as_value())
                got = [raw >> (k * lane_bits) & ((1 << lane_bits) - 1)
                       for k in range(shape.length)]
                assert got == model.get(addr, [0] * shape.length), f"entry {addr}"

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("shape,depth,layout", [
    # W of a 256×256 lanes-1 core: two 8-bit entries a tile word, two banks.
    (data.ArrayLayout(signed(8), 1), 1 << 16, (2, 1, 2)),
    # H of the same core: two 8-bit lanes, a tile word each, two banks.
    (data.ArrayLayout(signed(8), 2), 1 << 15, (1, 1, 2)),
    # Wider than a tile: side by side.
    (data.ArrayLayout(unsigned(8), 4), 300, (1, 2, 1)),
    (data.ArrayLayout(unsigned(4), 1), 5000, (4, 1, 1)),
])
def test_tiled_single_port_reads_back_lane_writes(shape, depth, layout):
    assert tiles(shape, depth) == layout
    run_random(shape, depth, True, seed=depth)


def test_flat_single_port_reads_back_lane_writes():
    run_random(data.ArrayLayout(signed(5), 3), 77, False, seed=3)


@pytest.mark.parametrize("tiled", [False, True])
def test_reading_and_writing_in_one_cycle_fails_the_simulation(tiled):
    dut = SinglePort(shape=data.ArrayLayout(signed(8), 2), depth=64, tiles=tiled)

    async def bench(ctx):
        ctx.set(dut.r_en, 1)
        ctx.set(dut.w_en, 0b01)
        await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    with pytest.raises(AssertionError, match="same cycle"):
        sim.run()


def test_lanes_that_are_not_whole_nibbles_are_refused():
    with pytest.raises(ValueError, match="multiple of 4 bits, not 5"):
        tiles(data.ArrayLayout(signed(5), 2), 100)
