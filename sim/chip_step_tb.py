"""cocotb bench behind ``bench/chip_step.py``: step latency and link loads of a CoreArray.

The program is a relay ring (:func:`relay_ring`): neuron ``j`` of core ``c`` fires exactly
when axon ``j`` of ``c`` was active and drives axon ``j`` of the next core of a ring of
neighbours, so the activity set at step 0 circulates unchanged — every core integrates
``activity · axons`` rows and emits as many packets in every step. Learning is on (the
costlier case; ``alpha = 0`` keeps the relay exact). Steps are issued back to back (start
as soon as the chip is ready). A monitor samples ``ctrl.ready``/``ctrl.start`` and every
router's ``moves`` each cycle; per-core compute cycles are each core's ``CYC_STEP``
counter (its own start → ready). The per-link packet counts are checked against
:func:`glocal.golden.noc.traffic`. Environment: ``GLOCAL_CFG``, ``GLOCAL_MESH``,
``GLOCAL_ACTIVITY`` (comma-separated fractions), ``GLOCAL_STEPS``, ``GLOCAL_OUT``.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from glocal.golden import chip, noc
from glocal.golden.chip import Program
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Dest, Mesh, Port
from glocal.golden.reference import CoreParams, CoreState, Registers
from glocal.sim.arraydrv import ArrayDriver
from glocal.sim.core_tb import _reset
from glocal.sim.coredrv import CocotbPort


def ring(mesh: Mesh) -> list[int]:
    """A cycle through every core, each next to the one before (serpentine rows)."""
    if mesh.rows == 1 or mesh.cols == 1:
        return list(range(mesh.cores))
    order = [mesh.core(0, y) for y in range(mesh.rows)]
    for y in reversed(range(mesh.rows)):
        xs = range(1, mesh.cols) if (mesh.rows - 1 - y) % 2 == 0 else range(mesh.cols - 1, 0, -1)
        order += [mesh.core(x, y) for x in xs]
    return order


def relay_ring(cfg: CoreConfig, mesh: Mesh) -> Program:
    """Neuron ``j`` of each core fires iff its axon ``j`` is active, and drives axon ``j``
    of the next core of `ring`."""
    lo = cfg.vth_shift_range[0]
    n = min(cfg.axons, cfg.neurons)
    w = np.zeros((cfg.axons, cfg.neurons), np.int64)
    w[np.arange(n), np.arange(n)] = 1 << lo
    params = CoreParams(weight=w, bias=np.zeros(cfg.neurons, np.int64),
                        beta=np.full(cfg.axons, 1, np.int64),
                        theta=np.zeros(cfg.neurons, np.int64),
                        p_table=np.full(1 << cfg.ts_bits, 1 << cfg.p_frac, np.int64),
                        regs=Registers(vth_shift=lo, decay=0, alpha=0, h_max=3, learn=True))
    order = ring(mesh)
    tables = []
    for c in range(mesh.cores):
        nxt = order[(order.index(c) + 1) % len(order)]
        tables.append(noc.route_table(mesh, cfg, [[Dest(nxt, j)] for j in range(n)], core=c))
    return Program(cfg, mesh, (params,) * mesh.cores, tuple(tables),
                   inputs=tuple((Dest(c, a),) for c in range(mesh.cores)
                                for a in range(n, cfg.axons)), outputs=())


class Monitor:
    """Counts, from a background coroutine, every cycle's link moves and step edges."""

    def __init__(self, dut, mesh: Mesh):
        self.dut, self.mesh = dut, mesh
        self.cycle = 0
        self.starts: list[int] = []
        self.readies: list[int] = []
        self.moves = np.zeros((mesh.cores, len(Port)), np.int64)
        self.counting = False

    async def run(self):
        dut = self.dut
        ports = [getattr(dut, f"moves__{c}") for c in range(self.mesh.cores)]
        was_ready = True
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            self.cycle += 1
            ready = int(dut.ctrl__ready.value)
            if ready and int(dut.ctrl__start.value):
                self.starts.append(self.cycle)
                ready = 0
            elif ready and not was_ready and self.starts:
                self.readies.append(self.cycle)
            was_ready = ready
            if self.counting:
                for c, p in enumerate(ports):
                    v = int(p.value)
                    for q in range(len(Port)):
                        self.moves[c, q] += v >> q & 1


@cocotb.test()
async def measure(dut):
    cfg = CoreConfig(**json.loads(os.environ["GLOCAL_CFG"]))
    mesh = Mesh(**json.loads(os.environ["GLOCAL_MESH"]))
    steps = int(os.environ.get("GLOCAL_STEPS", "6"))
    await _reset(dut)
    port = CocotbPort(dut)
    program = relay_ring(cfg, mesh)
    drv = ArrayDriver(program, port)
    await drv.load([CoreState.zeros(cfg)] * mesh.cores)
    mon = Monitor(dut, mesh)
    cocotb.start_soon(mon.run())
    rng = np.random.default_rng(0)
    n = min(cfg.axons, cfg.neurons)
    results = []
    for activity in (float(a) for a in os.environ["GLOCAL_ACTIVITY"].split(",")):
        count = round(activity * n)
        x0 = np.zeros((mesh.cores, cfg.axons), np.int64)
        for c in range(mesh.cores):
            x0[c, rng.choice(n, count, replace=False)] = 1
        # Clean start: no spikes pending from the previous activity.
        for core in drv.cores:
            await core.write_many(Region.AXON, [0] * cfg.axons)
        before = await drv.registers(Reg.CYC_STEP, Reg.CYC_STEP)
        await drv.send_inputs(x0)
        mon.moves[:] = 0
        first = len(mon.starts)
        mon.counting = True
        for _ in range(steps):
            await port.start()
        await port.wait_idle()
        mon.counting = False
        after = await drv.registers(Reg.CYC_STEP, Reg.CYC_STEP)
        starts, readies = mon.starts[first:], mon.readies[first:]
        latency = [r - s for s, r in zip(starts, readies, strict=False)]
        # The reference: x0 pending before the first step, one step per hop after it.
        states, pending = [CoreState.zeros(cfg)] * mesh.cores, x0
        want: dict[tuple[int, int], int] = {}
        for _ in range(steps):
            states, fired = chip.step(program, states, pending)
            pending = noc.deliver(mesh, cfg, program.tables, fired)
            for link, k in noc.traffic(mesh, cfg, program.tables, fired).links.items():
                want[link] = want.get(link, 0) + k
        links = {}
        for (a, b), k in want.items():
            (xa, ya), (xb, yb) = mesh.xy(a), mesh.xy(b)
            p = Port.E if xb > xa else Port.W if xb < xa else Port.S if yb > ya else Port.N
            links[f"{a}->{b}"] = int(mon.moves[a, p])
            assert links[f"{a}->{b}"] == k, f"link {a}->{b}: {links[f'{a}->{b}']} packets, " \
                                             f"reference {k}"
        assert (await drv.spikes() == fired).all(), "spikes differ from the reference"
        results.append({"activity": activity, "active": count, "steps": steps,
                        "latency": latency, "period": float(np.mean(np.diff(starts))),
                        "compute": ((after - before)[:, 0] / steps).tolist(),
                        "links": links, "all_links": 2 * (mesh.rows * (mesh.cols - 1)
                                                          + mesh.cols * (mesh.rows - 1)),
                        "packets": int(sum(want.values()))})
    with open(os.environ["GLOCAL_OUT"], "w") as f:
        json.dump(results, f)
