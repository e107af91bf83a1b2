"""The real driver → UART → Verilated many-core Chip (1×2 mesh) → the chip-level reference.

A random two-layer network with plasticity on is loaded with `Device` (parameters, state,
routing tables) and run one ``RUN 1`` at a time; after every step both cores' spikes and
membranes equal :mod:`glocal.golden.chip`, at the end every ``H`` and the packet counters
too; RESET of the neuron state clears the spikes still pending in the axon banks.

A Verilated chip build per run: part of ``make test-long`` (``pytest -m slow``).
"""

import numpy as np
import pytest

from glocal.firmware.driver import Device
from glocal.golden import chip, noc
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region, register_values
from glocal.golden.noc import Mesh
from glocal.rtl.chip import Chip
from glocal.sim.cocotb_link import SimTransport
from glocal.sim.programs import random_case
from glocal.sim.toolchain import build_root

CFG = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
MESH = Mesh(rows=1, cols=2, depth=16, fanout=2)
DIVISOR = 4
STEPS = 6

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dev():
    top = Chip(cfg=CFG, clk_freq=12e6, baud=12e6 / DIVISOR, mesh=MESH)
    with SimTransport(top, divisor=DIVISOR, build_dir=build_root() / "chip_link") as link:
        yield Device(link, cfg=CFG, mesh=MESH, timeout=20.0)


def load(dev, program, states):
    """Every core's registers, memories and routing table, written over the UART."""
    for c, (p, s) in enumerate(zip(program.cores, states, strict=True)):
        for reg, value in (register_values(p.regs) | {Reg.T: s.t,
                                                       Reg.REFRESH: s.refresh}).items():
            dev.write(c, Region.REGS, reg, [value])
        for region, arr in ((Region.WEIGHT, p.weight), (Region.HEBB, s.hebb),
                            (Region.T_LAST, s.t_last), (Region.BETA, p.beta),
                            (Region.BIAS, p.bias), (Region.THETA, p.theta), (Region.U, s.u),
                            (Region.S, s.s), (Region.P_TABLE, p.p_table)):
            dev.write(c, region, 0, np.asarray(arr).reshape(-1).tolist())
        table = program.tables[c]
        dev.write(c, Region.ROUTE_PTR, 0, table.pointer_words(MESH))
        if table.dests:
            dev.write(c, Region.ROUTE_DEST, 0, table.dest_words(MESH, CFG))


def test_ping_reports_the_mesh(dev):
    dev.check()
    assert dev.ping().mesh == MESH


def test_a_random_network_over_the_uart_equals_the_chip_reference(dev):
    case = random_case(MESH, CFG, seed=7, steps=STEPS)
    program = case.program
    dev.reset_state(neurons=True)           # empty pending banks, as golden.chip.run assumes
    load(dev, program, case.states)
    out0 = [dev.counters(c) for c in range(MESH.cores)]
    states = list(case.states)
    pending = np.zeros((MESH.cores, CFG.axons), np.int64)
    sent = np.zeros(MESH.cores, np.int64)
    for t, x in enumerate(case.x):
        inputs = program.input_bitmap(x)
        # Only the set bits: writing a 0 would clear a spike the fabric delivered.
        for c, a in zip(*np.nonzero(inputs), strict=True):
            dev.write(int(c), Region.AXON, int(a), [1])
        dev.run(1)
        states, fired = chip.step(program, states, pending | inputs)
        pending = noc.deliver(MESH, CFG, program.tables, fired)
        sent += noc.traffic(MESH, CFG, program.tables, fired).injected
        for c in range(MESH.cores):
            assert dev.spikes(c) == fired[c].tolist(), f"step {t} core {c}: spikes"
            assert dev.read(c, Region.U) == states[c].u.tolist(), f"step {t} core {c}: U"
    # Else the test would prove nothing about routing or about RESET clearing the banks.
    assert sent.sum() > 0 and pending.any(), "no spike in flight at the end"
    for c in range(MESH.cores):
        assert dev.read(c, Region.AXON) == pending[c].tolist(), f"core {c}: pending axons"
        assert dev.read(c, Region.HEBB) == states[c].hebb.reshape(-1).tolist(), f"core {c}: H"
        after = dev.counters(c)
        assert after["packets_out"] - out0[c]["packets_out"] == sent[c]
    dev.reset_state(neurons=True)
    for c in range(MESH.cores):
        assert dev.read(c, Region.AXON) == [0] * CFG.axons
        assert dev.read(c, Region.U) == [0] * CFG.neurons
    assert dev.status()["busy"] == 0
