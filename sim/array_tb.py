"""cocotb bench: a Verilated CoreArray against the chip-level reference, step by step.

For each seed the bench builds a program (:mod:`glocal.sim.programs`: a random layered
network, the same with mixed SNN/ANN cores and multi-bit inputs (hybrid coding), or the
dense every-neuron-fires stress case), loads it over the bus, reads the
routing tables back, and runs its steps: even seeds one step at a time, odd seeds in
chunks of 2–3 steps issued back to back (each step's inputs written while the previous
one runs, start as soon as the chip is ready). After every step (chunk) it compares with
:mod:`glocal.golden.chip` every core's spikes and membranes, the pending axon banks
(what the fabric delivered for the next step: :func:`glocal.golden.noc.deliver`), the
packet counters' increments (:func:`glocal.golden.noc.traffic`) and, after every step or
at the end, every core's Hebbian matrix. A step that does not end within its cycle
bound fails the bench (deadlock).

Before the programs, a few requests the interconnect must refuse (a core past the mesh,
an index past a routing table, a write to a packet counter).

Environment: ``GLOCAL_CFG`` (CoreConfig as JSON), ``GLOCAL_MESH`` (Mesh as JSON),
``GLOCAL_RUNS`` (comma-separated ``random:<first>:<last>``, ``hybrid:<first>:<last>`` or
``dense<fanout>:<first>:<last>`` seed ranges), ``GLOCAL_STEPS``, ``GLOCAL_HEBB``
(``step``/``end``).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np

from glocal.golden import chip, noc
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.sim.arraydrv import ArrayDriver
from glocal.sim.core_tb import _reset, compare
from glocal.sim.coredrv import CocotbPort, address
from glocal.sim.programs import dense_case, hybrid_case, random_case


def step_bound(cfg: CoreConfig, mesh: Mesh, packets: int) -> int:
    """Cycles a step may take: twice a core's worst case (every axon active, learning on)
    plus every packet crossing one port after another, plus the longest route."""
    a, g = cfg.axons, cfg.groups
    core = -(-a // 16) + a + a * g + 3 + g + 4 + (a + 1) * g + 3
    return 2 * core + 2 * packets + 4 * (mesh.rows + mesh.cols) + 50


@cocotb.test()
async def array_matches_chip_reference(dut):
    cfg = CoreConfig(**json.loads(os.environ["GLOCAL_CFG"]))
    mesh = Mesh(**json.loads(os.environ["GLOCAL_MESH"]))
    runs = [r.split(":") for r in os.environ.get("GLOCAL_RUNS", "random:0:1").split(",")]
    steps = int(os.environ.get("GLOCAL_STEPS", "8"))
    hebb_every = os.environ.get("GLOCAL_HEBB", "step") == "step"
    await _reset(dut)
    port = CocotbPort(dut)
    await refuses_bad_requests(port, cfg, mesh)
    checked = 0
    multibit = 0        # multi-bit activations sent by ANN cores in hybrid runs
    for kind, seed in ((kind, s) for kind, a, b in runs for s in range(int(a), int(b) + 1)):
        if kind == "random":
            case = random_case(mesh, cfg, seed, steps)
        elif kind == "hybrid":
            case = hybrid_case(mesh, cfg, seed, steps)
        else:
            case = dense_case(mesh, cfg, seed, steps, fanout=int(kind.removeprefix("dense")))
        program = case.program
        drv = ArrayDriver(program, port)
        await drv.load(case.states)
        for c in range(mesh.cores):
            ptr, dest = await drv.read_routes(c)
            assert ptr == program.tables[c].pointer_words(mesh), f"core {c}: pointer table"
            assert dest == program.tables[c].dest_words(mesh, cfg), f"core {c}: dest table"
        out0, in0 = await drv.packets()

        # The reference, step by step (golden.chip.run, keeping every state).
        states = list(case.states)
        pending = np.zeros((mesh.cores, cfg.axons), np.int64)
        want = []
        for x in case.x:
            states, fired = chip.step(program, states, pending | program.input_bitmap(x))
            pending = noc.deliver(mesh, cfg, program.tables, fired)
            t = noc.traffic(mesh, cfg, program.tables, fired)
            want.append((states, fired, pending, t.injected, t.ejected))

        if kind.startswith("dense"):
            assert all(w[1].all() for w in want), "the stress case must fire every neuron"
        if kind == "hybrid":
            multibit += int(sum((w[1] > 1).sum() for w in want))
        rng = np.random.default_rng(seed)
        k = 0
        while k < steps:
            n = 1 if seed % 2 == 0 else min(int(rng.integers(2, 4)), steps - k)
            lo, hi = k, k + n
            packets = int(sum(w[3].sum() for w in want[lo:hi]))
            bound = step_bound(cfg, mesh, packets) * n
            for j in range(lo, hi):
                await drv.send_inputs(program.input_bitmap(case.x[j]))
                await port.start()
            try:
                cycles = await port.wait_idle(limit=bound)
            except TimeoutError:
                raise AssertionError(f"seed {seed} steps {lo}..{hi - 1}: the chip is still "
                                     f"busy after {bound} cycles (deadlock?)") from None
            k = hi
            st, fired, pend, injected, ejected = want[hi - 1]
            where = f"{kind} seed {seed} step {hi - 1}" + (f" (chunk from {lo})" if n > 1
                                                            else "")
            compare(f"{where}: spikes", await drv.spikes(), fired)
            compare(f"{where}: membranes", await drv.membranes(), np.stack([s.u for s in st]))
            compare(f"{where}: pending axons", await drv.pending(), pend)
            out1, in1 = await drv.packets()
            compare(f"{where}: PACKETS_OUT", out1 - out0,
                    sum(w[3] for w in want[lo:hi]))
            compare(f"{where}: PACKETS_IN", in1 - in0, sum(w[4] for w in want[lo:hi]))
            out0, in0 = out1, in1
            if hebb_every or k == steps:
                compare(f"{where}: hebb", await drv.hebb(), np.stack([s.hebb for s in st]))
            checked += n
            dut._log.info("%s: %d cycles, %d packets", where, cycles, packets)
    if any(kind == "hybrid" for kind, _, _ in runs):
        assert multibit, "the hybrid runs sent no multi-bit activation"
    dut._log.info("%s: %d steps on a %d×%d mesh, all equal to the reference%s",
                  os.environ.get("GLOCAL_RUNS"), checked, mesh.rows, mesh.cols,
                  f" ({multibit} multi-bit activations)" if multibit else "")


async def refuses_bad_requests(port, cfg: CoreConfig, mesh: Mesh) -> None:
    """Requests the interconnect (or the core behind it) must answer with an error."""
    bad = [(address(Region.U, 0, core=mesh.cores), 0),
           (address(Region.ROUTE_PTR, cfg.neurons, core=mesh.cores - 1), 1),
           (address(Region.ROUTE_DEST, mesh.depth), 0),
           (address(Region.REGS, int(Reg.PACKETS_OUT), core=mesh.cores - 1), 1),
           (address(15, 0), 0)]
    for addr, write in bad:
        (_, err), = await port.transact([(addr, write, 1)])
        assert err == 1, f"request to {addr:#010x} (write={write}) was not refused"
    (_, err), = await port.transact([(address(Region.ROUTE_DEST, mesh.depth - 1), 0, 0)])
    assert err == 0, "the last destination-table entry was refused"
