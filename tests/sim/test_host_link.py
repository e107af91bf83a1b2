"""The real driver → UART bytes → Verilated host interface + bus-RAM fixture → responses.

One Verilated build and one simulation serve every test of this module (the fixture is
module-scoped); each test leaves the link answering, which the next one relies on.
"""

import random
import struct

import pytest

from glocal.firmware.driver import Device, DeviceError
from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.sim.busram import Bench
from glocal.sim.cocotb_link import SimTransport
from glocal.sim.toolchain import build_root

CFG = CoreConfig(axons=16, neurons=8, lanes=4, acc_bits=12, plastic_mask=1)
CORES = 2
MESH = Mesh(rows=1, cols=CORES, depth=12, fanout=3)
DIVISOR = 4
RW_REGS = sorted(r for r in memmap.REG_WRITABLE if r != Reg.STATUS)


@pytest.fixture(scope="module")
def dev():
    bench = Bench(cfg=CFG, cores=CORES, clk_freq=12e6, baud=12e6 / DIVISOR,
                  timeout_cycles=1000, mesh=MESH)
    with SimTransport(bench, divisor=DIVISOR, build_dir=build_root() / "host_link") as link:
        yield Device(link, cfg=CFG, mesh=MESH, timeout=20.0)


def random_values(rnd, region, n):
    width = memmap.region_width(CFG, region, MESH)
    if memmap.region_signed(region):
        return [rnd.randint(-(1 << (width - 1)), (1 << (width - 1)) - 1) for _ in range(n)]
    return [rnd.randint(0, (1 << min(width, 31)) - 1) for _ in range(n)]


def snapshot(dev):
    """Every entry of every region of every core."""
    return {(c, r): dev.read(c, r) for c in range(CORES) for r in Region}


def test_ping_identifies_the_chip(dev):
    dev.check()
    assert dev.ping() == hp.Ping(hp.VERSION, CORES, hp.config_fingerprint(CFG), MESH)


def test_every_region_of_every_core_reads_back_what_was_written(dev):
    rnd = random.Random(11)
    written = {}
    for core in range(CORES):
        for region in Region:
            if region is Region.REGS:
                for r in RW_REGS:
                    written[core, region, r] = random_values(rnd, region, 1)
                    dev.write(core, region, r, written[core, region, r])
                continue
            n = memmap.region_size(CFG, region, MESH)
            written[core, region, 0] = random_values(rnd, region, n)
            dev.write(core, region, 0, written[core, region, 0])
    for (core, region, index), values in written.items():
        assert dev.read(core, region, index, len(values)) == values, (core, region, index)


def test_run_steps_every_core_and_counts(dev):
    rnd = random.Random(3)
    before = [dev.counters(c)["steps"] for c in range(CORES)]
    spikes = [[rnd.randint(0, 1) for _ in range(CFG.axons)] for _ in range(CORES)]
    for c in range(CORES):
        dev.inject(c, spikes[c])
    cycles = dev.run(1)
    assert cycles >= CFG.axons
    for c in range(CORES):
        assert dev.spikes(c) == spikes[c][:CFG.neurons]
        assert dev.read(c, Region.AXON) == [0] * CFG.axons
    assert dev.run(10) >= 10 * CFG.axons
    assert [dev.counters(c)["steps"] for c in range(CORES)] == [b + 11 for b in before]
    assert dev.status()["busy"] == 0


def test_reset_state_clears_neurons_then_plastic_state(dev):
    dev.write(1, Region.U, 0, [5] * CFG.neurons)
    dev.write(1, Region.HEBB, 0, [-3] * 4)
    dev.write(0, Region.REGS, Reg.T, [9])
    dev.reset_state(neurons=True)
    assert dev.read(1, Region.U) == [0] * CFG.neurons
    assert dev.read(1, Region.HEBB, 0, 4) == [-3] * 4
    dev.reset_state(neurons=False, plastic=True)
    assert dev.read(1, Region.HEBB, 0, 4) == [0] * 4
    assert dev.read(0, Region.REGS, Reg.T, 1) == [0]


def test_set_plasticity_writes_its_registers(dev):
    dev.set_plasticity(1, True, alpha=-77, h_max=31)
    assert dev.read(1, Region.REGS, Reg.ALPHA, 3) == [(-77) & 0xFFFFFFFF, 31, 1]
    dev.set_plasticity(1, False)
    assert dev.read(1, Region.REGS, Reg.LEARN, 1) == [0]


def _frame(opcode, payload):
    return hp.encode_request(opcode, payload)


def _range(region, index, count, core=0):
    return hp.range_payload(core << 24 | region << 20 | index, count)


def test_malformed_frames_get_the_right_error_and_change_nothing(dev):
    dev.write(0, Region.WEIGHT, 0, list(range(-64, 64)))
    before = snapshot(dev)
    errors_before = dev.status()["errors"]
    good = _frame(Opcode.WRITE, _range(Region.WEIGHT, 0, 4) + b"\x11\x22\x33\x44")
    bad_crc = good[:-1] + bytes([good[-1] ^ 0x01])
    cases = {
        "bad CRC": (bad_crc, Status.BAD_CRC),
        "truncated": (good[:-4], Status.TIMEOUT),
        "unknown opcode": (_frame(0x99, b"\x11\x22\x33\x44"), Status.BAD_OPCODE),
        "address past a region": (
            _frame(Opcode.WRITE, _range(Region.WEIGHT, 126, 4) + bytes(4)), Status.BAD_ADDRESS),
        "core that does not exist": (
            _frame(Opcode.WRITE, _range(Region.U, 0, 1, core=CORES) + bytes(2)),
            Status.BAD_ADDRESS),
        "unknown region": (_frame(Opcode.WRITE, _range(15, 0, 1) + bytes(1)),
                           Status.BAD_ADDRESS),
        "read-only register": (_frame(Opcode.WRITE, _range(Region.REGS, Reg.STEPS, 1)
                                      + bytes(4)), Status.BAD_ADDRESS),
        "data shorter than the count": (
            _frame(Opcode.WRITE, _range(Region.WEIGHT, 0, 4) + bytes(3)), Status.BAD_LENGTH),
        "oversize length": (bytes([hp.SYNC, Opcode.WRITE])
                            + struct.pack("<H", hp.MAX_PAYLOAD + 100) + bytes(hp.MAX_PAYLOAD + 100),
                            Status.BAD_LENGTH),
        "bad reset mask": (_frame(Opcode.RESET, b"\x08"), Status.BAD_ARGUMENT),
    }
    for name, (frame, want) in cases.items():
        resp = dev.exchange(frame, command=name)
        assert Status(resp.status) is want, f"{name}: got {Status(resp.status)!r}"
        dev.check()   # still answering, and in sync
    assert snapshot(dev) == before
    assert dev.status()["errors"] == errors_before + len(cases)


def test_errors_name_the_command_and_status(dev):
    with pytest.raises(DeviceError, match=r"raw write: status BAD_ADDRESS \(0x04\)") as e:
        dev._command("raw write", Opcode.WRITE, _range(Region.BIAS, 7, 2) + bytes(4))
    assert e.value.status is Status.BAD_ADDRESS
    frames = dev.stats.frames
    with pytest.raises(ValueError, match="index into BIAS must be in"):
        dev.write(0, Region.BIAS, 7, [1, 2])
    with pytest.raises(ValueError, match="CYC_FIRE are read-only"):
        dev.write(0, Region.REGS, Reg.CYC_FIRE, [1])
    with pytest.raises(ValueError, match="300 at position 0 does not fit 8 bits"):
        dev.write(0, Region.WEIGHT, 0, [300])
    assert dev.stats.frames == frames   # refused before anything was sent
