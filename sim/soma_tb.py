"""cocotb bench: the Verilated soma against the reference model.

One coroutine drives the input stream, takes the output stream (with random
back-pressure when ``GLOCAL_STALL=1``) and checks every result in order. The
configuration, seed and vector count come from the environment (``GLOCAL_CFG`` as
JSON, ``GLOCAL_SEED``, ``GLOCAL_N``), set by ``tests/sim/test_soma_cocotb.py``.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from glocal.golden.config import CoreConfig
from glocal.rtl.soma import soma_in_layout, soma_out_layout
from glocal.sim.packing import pack, unpack
from glocal.sim.vectors import soma_expected, soma_vectors


@cocotb.test()
async def soma_matches_reference(dut):
    cfg = CoreConfig(**json.loads(os.environ["GLOCAL_CFG"]))
    n = int(os.environ.get("GLOCAL_N", "10000"))
    seed = int(os.environ.get("GLOCAL_SEED", "1"))
    stall = os.environ.get("GLOCAL_STALL", "0") == "1"
    vec = soma_vectors(cfg, n, seed)
    want = soma_expected(cfg, vec)
    rnd = random.Random(seed)
    lin, lout = soma_in_layout(cfg), soma_out_layout(cfg)

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    await RisingEdge(dut.clk)
    dut.rst.value = 0

    sent = taken = 0
    while taken < n:
        offer = sent < n and not (stall and rnd.random() < 0.2)
        if offer:
            dut.i__payload.value = pack(lin, {k: vec[k][sent] for k in ("current", "u", "s")})
            dut.decay.value = int(vec["decay"][sent])
            dut.vth_shift.value = int(vec["vth_shift"][sent])
        dut.i__valid.value = int(offer)
        ready = 0 if stall and rnd.random() < 0.3 else 1
        dut.o__ready.value = ready
        await ReadOnly()
        if offer and int(dut.i__ready.value):
            sent += 1
        if ready and int(dut.o__valid.value):
            got = unpack(lout, dut.o__payload.value)
            exp = {"u": int(want["u"][taken]), "s": int(want["s"][taken])}
            assert got == exp, (
                f"vector {taken}: inputs { {k: int(v[taken]) for k, v in vec.items()} } "
                f"gave {got}, reference {exp}")
            taken += 1
        await RisingEdge(dut.clk)
    dut._log.info("%d vectors, all equal to the reference", n)
