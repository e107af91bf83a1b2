"""cocotb bench: the single-port RAM's read-and-write check under Verilator.

Writes a few words and reads them back (one per cycle, never both in a cycle). With
``GLOCAL_CONFLICT=1`` it then asks for a read and a write in the same cycle, which the
check must stop the simulation on: ``tests/sim/test_spram_verilator.py`` expects that run
to fail, so the cocotb core regressions (single-port) are known to enforce it too.
"""

from __future__ import annotations

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge


@cocotb.test()
async def reads_and_writes_apart(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 0
    dut.r_en.value = 0
    dut.w_en.value = 0
    await RisingEdge(dut.clk)
    words = [0x1234, 0xBEEF, 0x0F0F]
    for a, w in enumerate(words):
        dut.addr.value, dut.w_data.value, dut.w_en.value = a, w, 0b11
        await RisingEdge(dut.clk)
    dut.w_en.value = 0
    for a, w in enumerate(words):
        dut.addr.value, dut.r_en.value = a, 1
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert int(dut.r_data.value) == w, f"word {a}"
        await RisingEdge(dut.clk)
        dut.r_en.value = 0
    if os.environ.get("GLOCAL_CONFLICT") == "1":
        dut.r_en.value, dut.w_en.value = 1, 0b01
        for _ in range(3):
            await RisingEdge(dut.clk)
