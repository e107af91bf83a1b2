"""cocotb bench: a Verilated core against the reference model, step by step.

Seeds are looped inside one test so that one Verilator build serves many random cores.
For each seed the bench loads a random core (`glocal.sim.cores.random_run`) through the
bus and runs its steps: even seeds one step at a time, odd seeds in chunks of 1-4 steps
issued back to back (so that learning overlaps the next step's integration). After every
step (chunk) it reads back and compares the membranes, spikes, timestamps, plastic
clock, refresh row and the counters' increments; the Hebbian matrix is compared after
every step (``GLOCAL_HEBB=step``) or after the last (``end``). The ``spikes`` stream is
taken under random back-pressure and its neuron ids compared with the reference's fired
neurons of the chunk.

Environment: ``GLOCAL_CFG`` (CoreConfig as JSON), ``GLOCAL_SEEDS`` (``first:last``),
``GLOCAL_STEPS``, ``GLOCAL_HEBB``.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.sim.coredrv import CocotbPort, CoreDriver, address
from glocal.sim.cores import random_run


async def _reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.bus__req__valid.value = 0
    dut.bus__resp__ready.value = 0
    dut.ctrl__start.value = 0
    dut.spikes__ready.value = 1
    dut.axons__valid.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def take_spikes(dut, taken: list[int], seed: int) -> None:
    """Take ``spikes`` with ``ready`` high 60 % of the cycles; append every id taken."""
    rng = np.random.default_rng(seed)
    while True:
        dut.spikes__ready.value = int(rng.random() < 0.6)
        await ReadOnly()
        if int(dut.spikes__valid.value) and int(dut.spikes__ready.value):
            assert not int(dut.ctrl__ready.value), "ctrl.ready high while a spike was sent"
            taken.append(int(dut.spikes__payload.value))
        await RisingEdge(dut.clk)


def compare(what: str, got, want) -> None:
    """Raise `AssertionError` naming the first differing entry of two arrays."""
    got, want = np.asarray(got), np.asarray(want)
    bad = np.argwhere(got != want)
    if bad.size:
        idx = tuple(bad[0])
        raise AssertionError(f"{what}: {len(bad)} mismatches, first at {idx}: "
                             f"RTL {got[idx]}, reference {want[idx]}")


@cocotb.test()
async def core_matches_reference(dut):
    cfg = CoreConfig(**json.loads(os.environ["GLOCAL_CFG"]))
    first, last = (int(v) for v in os.environ.get("GLOCAL_SEEDS", "0:3").split(":"))
    steps = int(os.environ.get("GLOCAL_STEPS", "20"))
    hebb_every = os.environ.get("GLOCAL_HEBB", "step") == "step"
    await _reset(dut)
    drv = CoreDriver(cfg, CocotbPort(dut))
    taken = []
    cocotb.start_soon(take_spikes(dut, taken, first))

    # A few bad addresses first: each must be refused and flag STATUS.
    for addr, write in ((address(Region.WEIGHT, cfg.axons * cfg.neurons), 1),
                        (address(Region.U, 0, core=1), 1), (address(11, 0), 0),
                        (address(Region.REGS, int(Reg.STEPS)), 1)):
        (_, err), = await drv.port.transact([(addr, write, 1)])
        assert err == 1, f"request to {addr:#010x} (write={write}) was not refused"
    assert await drv.read_reg(Reg.STATUS) & 2, "STATUS error bit not set after bad requests"
    await drv.write_reg(Reg.STATUS, 2)
    assert await drv.read_reg(Reg.STATUS) == 0, "STATUS error bit not cleared by writing 1"

    checked = 0
    for seed in range(first, last + 1):
        run = random_run(cfg, seed, steps)
        want = run.expected(cfg)
        await drv.load(run.params, run.state)
        before = await drv.counters()
        state = run.state
        # Even seeds: one step at a time, everything compared after every step. Odd seeds:
        # chunks of 1-4 steps back to back (learn(t) overlapping integrate(t+1)), compared
        # after each chunk.
        chunks, k = [], 0
        rng = np.random.default_rng(seed)
        while k < steps:
            n = 1 if seed % 2 == 0 else int(rng.integers(1, 5))
            n = min(n, steps - k)
            while n > 1 and len(set(run.learn[k:k + n])) > 1:
                n -= 1
            chunks.append((k, k + n))
            k += n
        learn = None
        for lo, hi in chunks:
            if run.learn[lo] != learn:
                learn = run.learn[lo]
                await drv.write_reg(Reg.LEARN, int(learn))
            await drv.run(run.xs[lo:hi])
            k = hi - 1
            check_hebb = hebb_every or hi == steps
            got = await drv.read_state(hebb=check_hebb)
            w = want[k]
            where = f"seed {seed} steps {lo}..{k} (learn={learn}, " \
                    f"{int(run.xs[lo:hi].sum())} active)"
            compare(f"{where}: u", got.u, w.u)
            compare(f"{where}: s", got.s, w.s)
            compare(f"{where}: t_last", got.t_last, w.t_last)
            assert (got.t, got.refresh) == (w.t, w.refresh), \
                f"{where}: t, refresh = {(got.t, got.refresh)}, reference {(w.t, w.refresh)}"
            if check_hebb:
                compare(f"{where}: hebb", got.hebb, w.hebb)
            fired = sorted(int(i) for j in range(lo, hi) for i in np.flatnonzero(want[j].s))
            assert sorted(taken) == fired, \
                f"{where}: spikes stream sent {sorted(taken)}, reference fired {fired}"
            taken.clear()
            after = await drv.counters()
            inc = {name: after[name] - before[name] for name in after}
            exp = dict.fromkeys(("STEPS", "SPIKES_IN", "SYN_OPS", "SPIKES_OUT",
                                 "PLASTIC_UPDATES"), 0)
            for j in range(lo, hi):
                x = run.xs[j]
                n_in = int(x.sum())
                rows = n_in + (0 if x[state.refresh] else 1) if learn else 0
                exp["STEPS"] += 1
                exp["SPIKES_IN"] += n_in
                exp["SYN_OPS"] += n_in * cfg.neurons
                exp["SPIKES_OUT"] += int(want[j].s.sum())
                exp["PLASTIC_UPDATES"] += rows * cfg.neurons
                state = want[j]
            for name, value in exp.items():
                assert inc[name] == value, f"{where}: counter {name} rose by {inc[name]}, " \
                                           f"expected {value}"
            before = after
            checked += hi - lo
    dut._log.info("seeds %d..%d: %d steps, all equal to the reference", first, last, checked)
