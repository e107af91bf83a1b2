"""The native simulated chip (`glocal.sim.native`) reached like a board: the host driver
through `SerialTransport` on a ``socket://`` URL, bit for bit against the chip-level
reference; and a simulator that dies or cannot start is reported, never a hang.
"""

import os
import signal
import socket
import time

import numpy as np
import pytest

from glocal.firmware.chip import Chip
from glocal.firmware.compiler import compile_model
from glocal.firmware.driver import Device
from glocal.firmware.runner import compare
from glocal.firmware.transport import SerialTransport, TransportError
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Region
from glocal.golden.noc import Mesh
from glocal.sim.native import NativeChip, SimulatorError
from glocal.sim.networks import random_inputs, random_model

CFG = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
NET_CFG = CoreConfig(axons=32, neurons=16, lanes=4, acc_bits=16)
NET_MESH = Mesh(rows=1, cols=2)


@pytest.fixture(scope="module")
def sim():
    with NativeChip(CFG) as chip:
        yield chip


def test_ping_through_serial_transport(sim):
    assert sim.url.startswith("socket://127.0.0.1:")
    with SerialTransport(sim.url, baud=115_200) as link:
        dev = Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0)
        dev.check()
        assert dev.ping().mesh == sim.mesh


def test_the_chip_keeps_its_state_for_the_next_client(sim):
    with sim.transport() as link:
        Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0).write(0, Region.BIAS, 0, [5, -3])
    with sim.transport() as link:
        dev = Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0)
        assert dev.read(0, Region.BIAS, 0, 2) == [5, -3]


def test_the_clock_runs_only_while_the_chip_works(sim):
    with sim.transport() as link:
        dev = Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0)
        before = sim.cycles()
        cycles = dev.run(1000)
        ran = sim.cycles() - before
        # RUN's own cycles plus the two frames on the wire (40 cycles a byte) and a few
        # idle bit times; then nothing while idle.
        assert cycles <= ran < cycles + 2000
        time.sleep(0.3)
        assert sim.cycles() - before == ran


def test_a_second_client_is_refused_while_one_is_connected(sim):
    with sim.transport() as link:
        Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0).check()
        with (SerialTransport(sim.url, baud=115_200) as other,
              pytest.raises(TransportError, match="failed")):
            other.read(1, 5.0)


def test_a_run_through_the_driver_equals_the_chip_reference():
    rng = np.random.default_rng(5)
    model = random_model(NET_CFG, (32, 16, 10), rng, steps=5)
    program = compile_model(model, mesh=NET_MESH)
    x = random_inputs(model, rng, 3, rate=0.3)
    with NativeChip(NET_CFG, NET_MESH) as sim, sim.transport() as link:
        chip = Chip(Device(link, cfg=NET_CFG, mesh=NET_MESH, timeout=10.0))
        chip.load(program, skip_zeros=True)   # the simulation starts with zeroed memories
        results = chip.run(x)
    cmp = compare(program, x, results, keep_hebb=False)
    assert results.spikes is not None and cmp.values > 0
    assert cmp.mismatches == 0 and cmp.samples_exact == len(x)
    assert sum(int(s.sum()) for s in results.spikes) > 0, "no spike: the test proves little"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSEGV])
def test_a_simulator_that_dies_is_an_error_naming_how(how):
    t0 = time.monotonic()
    ended = f"killed by signal {int(how)} \\({how.name}\\)"
    with (pytest.raises(SimulatorError, match=ended), NativeChip(CFG) as sim,
          sim.transport() as link):
        dev = Device(link, cfg=CFG, mesh=sim.mesh, timeout=30.0)
        dev.check()
        os.kill(sim.pid, how)
        dev.ping()
    assert time.monotonic() - t0 < 20, "reported only after a read timed out"


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(SimulatorError, match=f"port {port} on 127.0.0.1 is already in use"):
            NativeChip(CFG, port=port)


def test_sigterm_ends_it_cleanly(sim):
    other = NativeChip(CFG)
    os.kill(other.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while other.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert other.close() == 0
