"""UART receiver and transmitter in Amaranth's simulator, against a bit-level line model."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from glocal.rtl import uart


def line_bits(byte, *, stop=1):
    """Levels of one 8N1 character: start, 8 data bits LSB first, stop."""
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


def run_rx(divisor, chars, *, period=None, gap=0):
    """Drive ``chars`` (list of (byte, stop level)) onto an Rx pin; collect what it reports.

    ``period`` is the sender's bit time in cycles (defaults to ``divisor``), to test rate
    tolerance; ``gap`` idle cycles separate characters.
    """
    dut = uart.Rx(divisor=divisor)
    got, errors = [], []
    period = period or divisor

    async def sender(ctx):
        ctx.set(dut.pin, 1)
        await ctx.tick().repeat(3 * divisor)
        for byte, stop in chars:
            for level in line_bits(byte, stop=stop):
                ctx.set(dut.pin, level)
                await ctx.tick().repeat(period)
            ctx.set(dut.pin, 1)
            if gap or not stop:
                await ctx.tick().repeat(gap + 2 * divisor * (not stop))
        await ctx.tick().repeat(2 * divisor)

    async def monitor(ctx):
        ctx.set(dut.o.ready, 1)
        async for _, _, fe, valid, data in ctx.tick().sample(dut.framing_error, dut.o.valid,
                                                             dut.o.payload):
            if valid:
                got.append(data)
            if fe:
                errors.append(len(got))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(sender)
    sim.add_testbench(monitor, background=True)
    sim.run()
    return got, errors


@pytest.mark.parametrize("divisor", [4, 5, 8, 13])
def test_rx_receives_bytes_back_to_back(divisor):
    data = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80] + random.Random(divisor).choices(range(256), k=20)
    got, errors = run_rx(divisor, [(b, 1) for b in data])
    assert got == data
    assert errors == []


@pytest.mark.parametrize("skew", [-0.03, 0.03])
def test_rx_tolerates_a_sender_a_few_percent_off(skew):
    divisor = 32
    data = random.Random(1).choices(range(256), k=10)
    got, _ = run_rx(divisor, [(b, 1) for b in data], period=round(divisor * (1 + skew)))
    assert got == data


def test_rx_reports_a_low_stop_bit_and_drops_the_byte():
    got, errors = run_rx(8, [(0x12, 1), (0x34, 0), (0x56, 1)])
    assert got == [0x12, 0x56]
    assert errors == [1]


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_tx_to_rx_loopback_with_backpressure(divisor):
    m = Module()
    m.submodules.tx = tx = uart.Tx(divisor=divisor)
    m.submodules.rx = rx = uart.Rx(divisor=divisor)
    m.d.comb += rx.pin.eq(tx.pin)
    data = random.Random(divisor).choices(range(256), k=24)
    got = []

    async def source(ctx):
        rnd = random.Random(0)
        for b in data:
            ctx.set(tx.i.valid, 1)
            ctx.set(tx.i.payload, b)
            await ctx.tick().until(tx.i.ready)
            ctx.set(tx.i.valid, 0)
            await ctx.tick().repeat(rnd.choice([1, 1, 2, 3 * divisor]))

    async def sink(ctx):
        ctx.set(rx.o.ready, 1)
        while len(got) < len(data):
            payload, = await ctx.tick().sample(rx.o.payload).until(rx.o.valid)
            got.append(payload)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    assert got == data


def test_tx_character_timing_matches_8n1():
    divisor = 6
    dut = uart.Tx(divisor=divisor)
    levels = []

    async def bench(ctx):
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, 0xC3)
        await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)
        for _ in range(12 * divisor):
            levels.append(ctx.get(dut.pin))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    want = [lv for lv in line_bits(0xC3) for _ in range(divisor)]
    assert levels[:10 * divisor] == want
    assert set(levels[10 * divisor:]) == {1}


@pytest.mark.parametrize("clk, baud, want", [(12e6, 115200, 104), (12e6, 3e6, 4),
                                             (25e6, 1e6, 25)])
def test_divisor_from_clock_and_baud(clk, baud, want):
    assert uart.divisor(clk, baud) == want


@pytest.mark.parametrize("clk, baud", [(12e6, 4e6), (10e6, 2.2e6), (0, 9600)])
def test_divisor_rejects_unusable_rates(clk, baud):
    with pytest.raises(ValueError, match="baud|positive"):
        uart.divisor(clk, baud)
