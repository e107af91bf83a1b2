"""The CoreArray in Amaranth's simulator: bus interconnect, routing tables, step sync.

Small and fast; the Verilated regressions are ``tests/sim/test_array_cocotb.py``.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from glocal.golden import chip, noc
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.rtl.array import CoreArray
from glocal.sim.arraydrv import ArrayDriver
from glocal.sim.coredrv import AmaranthPort, address
from glocal.sim.programs import random_case

CFG = CoreConfig(axons=8, neurons=4, lanes=2, acc_bits=12)
MESH = Mesh(rows=1, cols=2, depth=6, fanout=2)


def simulate(bench, mesh=MESH):
    dut = CoreArray(cfg=CFG, mesh=mesh)

    async def tb(ctx):
        await bench(ctx, dut, AmaranthPort(ctx, dut))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()


def test_requests_reach_the_named_core_its_table_and_counters():
    async def bench(ctx, dut, port):
        reqs = [(address(Region.BIAS, 1, core=1), 1, 7),
                (address(Region.ROUTE_DEST, 5, core=1), 1, 0x1B),
                (address(Region.ROUTE_PTR, 3, core=0), 1, 0x15),
                (address(Region.BIAS, 1, core=0), 0, 0), (address(Region.BIAS, 1, core=1), 0, 0),
                (address(Region.ROUTE_DEST, 5, core=1), 0, 0),
                (address(Region.ROUTE_DEST, 5, core=0), 0, 0),
                (address(Region.ROUTE_PTR, 3, core=0), 0, 0),
                (address(Region.REGS, int(Reg.PACKETS_IN), core=1), 0, 0),
                # refused: core past the mesh, index past a table, counter write
                (address(Region.U, 0, core=2), 0, 0),
                (address(Region.ROUTE_DEST, MESH.depth, core=0), 1, 1),
                (address(Region.ROUTE_PTR, CFG.neurons, core=1), 0, 0),
                (address(Region.REGS, int(Reg.PACKETS_OUT), core=0), 1, 1)]
        got = await port.transact(reqs)
        assert got == [(0, 0)] * 3 + [(0, 0), (7, 0), (0x1B, 0), (0, 0), (0x15, 0), (0, 0)] + \
            [(0, 1)] * 4
        # Only the counter write reached a core (and set its sticky error bit).
        status = await port.transact([(address(Region.REGS, int(Reg.STATUS), core=c), 0, 0)
                                      for c in range(2)])
        assert status == [(2, 0), (0, 0)]

    simulate(bench)


@pytest.mark.parametrize("mesh, seed", [(MESH, 3), (Mesh(rows=1, cols=1, depth=6, fanout=2), 7)],
                         ids=["1x2", "1x1"])
def test_a_random_network_steps_like_the_chip_reference_also_back_to_back(mesh, seed):
    # 1x1: one core whose spikes come back to itself through `mesh.Loop`, no router.
    case = random_case(mesh, CFG, seed=seed, steps=5, rate=0.6)
    program = case.program

    async def bench(ctx, dut, port):
        drv = ArrayDriver(program, port)
        await drv.load(case.states)
        states, pending = list(case.states), np.zeros((mesh.cores, CFG.axons), np.int64)
        sent = delivered = 0
        # Step 0 alone, then steps 1-2 and 3-4 back to back (each step's inputs written
        # while the one before runs, started as soon as the array is ready).
        for chunk in ([0], [1, 2], [3, 4]):
            for t in chunk:
                await drv.send_inputs(program.input_bitmap(case.x[t]))
                await port.start()
                # start reached both cores in the same cycle: both are busy right after it.
                assert ctx.get(dut.ctrl.busy) and not ctx.get(dut.ctrl.ready)
            await port.wait_idle()
            for t in chunk:
                states, fired = chip.step(program, states,
                                          pending | program.input_bitmap(case.x[t]))
                pending = noc.deliver(mesh, CFG, program.tables, fired)
                sent += int(fired.sum())
                delivered += int(pending.sum())
            np.testing.assert_array_equal(await drv.spikes(), fired, err_msg=f"step {t}")
            np.testing.assert_array_equal(await drv.membranes(), np.stack([s.u for s in states]),
                                          err_msg=f"step {t}")
            np.testing.assert_array_equal(await drv.pending(), pending, err_msg=f"step {t}")
        assert sent > 0 and delivered > 0
        np.testing.assert_array_equal(await drv.hebb(), np.stack([s.hebb for s in states]))

    simulate(bench, mesh)
