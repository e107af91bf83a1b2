"""The native simulated chip (`glocal.sim.native`) reached like a board: the host driver
through `SerialTransport` on a ``socket://`` URL, bit for bit against the chip-level
reference, over the UART and over the bytes link; and a simulator that dies or cannot
start is reported, never a hang.
"""

import os
import signal
import socket
import time

import numpy as np
import pytest

from glocal.firmware.chip import Chip
from glocal.firmware.compiler import compile_model
from glocal.firmware.driver import Device, DeviceError
from glocal.firmware.transport import SerialTransport, TransportError
from glocal.flows.compare import compare
from glocal.golden import hostproto as hp
from glocal.golden.config import CoreConfig
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Region
from glocal.golden.noc import Mesh
from glocal.rtl.chip import Link
from glocal.sim.native import NativeChip, SimulatorError
from glocal.sim.networks import random_inputs, random_model

CFG = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
NET_CFG = CoreConfig(axons=32, neurons=16, lanes=4, acc_bits=16)
NET_MESH = Mesh(rows=1, cols=2)


@pytest.fixture(scope="module")
def sim():
    with NativeChip(CFG) as chip:
        yield chip


@pytest.fixture(scope="module")
def bytes_sim():
    with NativeChip(CFG, link=Link.BYTES) as chip:
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


@pytest.mark.parametrize("which", ["sim", "bytes_sim"])
def test_the_clock_runs_only_while_the_chip_works(which, request):
    sim = request.getfixturevalue(which)
    with sim.transport() as link:
        dev = Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0)
        before = sim.cycles()
        cycles = dev.run(1000)
        ran = sim.cycles() - before
        # RUN's own cycles plus the two frames on the link (UART: 40 cycles a byte, and a
        # few idle bit times; bytes: a cycle a byte); then nothing while idle.
        assert cycles <= ran < cycles + (2000 if sim.link is Link.UART else 100)
        time.sleep(0.3)
        assert sim.cycles() - before == ran


def test_a_second_client_is_refused_while_one_is_connected(sim):
    with sim.transport() as link:
        Device(link, cfg=CFG, mesh=sim.mesh, timeout=5.0).check()
        with (SerialTransport(sim.url, baud=115_200) as other,
              pytest.raises(TransportError, match="failed")):
            other.read(1, 5.0)


def _range(region, index, count, core=0):
    return hp.range_payload(core << 24 | region << 20 | index, count)


def test_malformed_frames_get_the_same_error_over_either_link(sim, bytes_sim):
    good = hp.encode_request(Opcode.WRITE, _range(Region.WEIGHT, 0, 4) + b"\x11\x22\x33\x44")
    cases = {
        "bad CRC": (good[:-1] + bytes([good[-1] ^ 0x01]), Status.BAD_CRC),
        "truncated": (good[:-4], Status.TIMEOUT),   # the chip's inter-byte timeout
        "unknown opcode": (hp.encode_request(0x99, b"\x11\x22"), Status.BAD_OPCODE),
        "data shorter than the count": (
            hp.encode_request(Opcode.WRITE, _range(Region.WEIGHT, 0, 4) + bytes(3)),
            Status.BAD_LENGTH),
    }
    answers = {}
    for chip in (sim, bytes_sim):
        with chip.transport() as link:
            dev = Device(link, cfg=CFG, mesh=chip.mesh, timeout=10.0)
            before = dev.read(0, Region.WEIGHT, 0, 4)
            for name, (frame, _) in cases.items():
                answers[chip.link, name] = Status(dev.exchange(frame, command=name).status)
                dev.check()   # still answering, and in sync
            assert dev.read(0, Region.WEIGHT, 0, 4) == before, chip.link
            # Through a command, the driver raises the status as a DeviceError.
            with pytest.raises(DeviceError, match=r"status BAD_ADDRESS \(0x04\)") as e:
                dev._command("raw write", Opcode.WRITE, _range(Region.BIAS, 7, 2) + bytes(4))
            assert e.value.status is Status.BAD_ADDRESS
    for name, (_, want) in cases.items():
        assert answers[Link.UART, name] is want, name
        assert answers[Link.BYTES, name] is want, name


@pytest.mark.parametrize("host_link", list(Link), ids=lambda k: k.value)
def test_a_run_through_the_driver_equals_the_chip_reference(host_link):
    rng = np.random.default_rng(5)
    model = random_model(NET_CFG, (32, 16, 10), rng, steps=5)
    program = compile_model(model, mesh=NET_MESH)
    x = random_inputs(model, rng, 3, rate=0.3)
    with NativeChip(NET_CFG, NET_MESH, link=host_link) as sim, sim.transport() as link:
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
