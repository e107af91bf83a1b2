"""The driver against the Python model of the host interface (no simulator).

Framing, splitting long ranges into frames, host-side range checks and error reporting;
the same driver runs against the Verilated RTL in ``tests/sim/test_host_link.py``.
"""

import random
import re

import pytest

from glocal.firmware.driver import Device, DeviceError, LinkError
from glocal.golden import hostproto as hp
from glocal.golden import noc
from glocal.golden.config import CoreConfig
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.sim.hostmodel import Model, ModelTransport

CFG = CoreConfig(axons=64, neurons=128, lanes=8)


def device(cfg=CFG, cores=2, model_cfg=None):
    model = Model(model_cfg or cfg, cores)
    return Device(ModelTransport(model), cfg=cfg, cores=cores), model


def test_a_weight_matrix_goes_in_full_frames_and_reads_back():
    dev, model = device()
    rnd = random.Random(0)
    w = [rnd.randint(-128, 127) for _ in range(CFG.axons * CFG.neurons)]
    dev.write(1, Region.WEIGHT, 0, w)
    assert dev.stats.frames == 8
    assert dev.stats.data == 8192
    # 8 × (request: 6 framing + 6 range header + 1024 data; response: 7)
    assert dev.stats.wire == 8 * (6 + 6 + 1024 + 7)
    assert dev.read(1, Region.WEIGHT) == w
    assert dev.read(0, Region.WEIGHT, 100, 3) == [0, 0, 0]
    assert model.get(1, Region.WEIGHT, 8191) == w[-1]


def test_wide_and_one_bit_regions_split_at_the_frame_limit():
    cfg = CoreConfig(axons=1024, neurons=16, lanes=4, acc_bits=18)
    dev, _ = device(cfg, cores=1)
    rnd = random.Random(1)
    beta = [rnd.randint(-128, 127) for _ in range(1024)]
    axon = [rnd.randint(0, 1) for _ in range(1024)]
    t_last = [rnd.randint(0, 2047) for _ in range(1024)]   # 11 bits: 2 bytes each
    dev.write(0, Region.BETA, 0, beta)
    dev.write(0, Region.AXON, 0, axon)
    dev.stats.reset()
    dev.write(0, Region.T_LAST, 0, t_last)
    assert dev.stats.frames == 2
    assert (dev.read(0, Region.BETA), dev.read(0, Region.AXON),
            dev.read(0, Region.T_LAST)) == (beta, axon, t_last)


def test_spikes_run_counters_plasticity_and_reset():
    dev, _ = device()
    spikes = [i % 3 == 0 for i in range(CFG.axons)]
    dev.inject(1, [int(s) for s in spikes])
    assert dev.run(1) == 1
    assert dev.spikes(1)[:CFG.axons] == [int(s) for s in spikes]
    assert dev.run(3) == 3
    assert dev.spikes(1) == [0] * CFG.neurons
    assert dev.counters(1)["steps"] == 4
    assert set(dev.counters(0)) == {"steps", "cyc_integrate", "cyc_fire", "cyc_learn",
                                    "cyc_step", "syn_ops", "plastic_updates", "spikes_in",
                                    "spikes_out", "packets_out", "packets_in"}
    dev.set_plasticity(0, True, alpha=-5, h_max=7)
    assert dev.read(0, Region.REGS, Reg.ALPHA, 3) == [(-5) & 0xFFFFFFFF, 7, 1]
    dev.write(0, Region.U, 0, [9] * 4)
    dev.reset_state()
    assert dev.read(0, Region.U, 0, 4) == [0] * 4


def test_device_errors_name_command_and_status():
    dev, _ = device()
    with pytest.raises(DeviceError, match=r"^poke: status BAD_OPCODE \(0x02\)") as e:
        dev._command("poke", 0x66)
    assert e.value.status is Status.BAD_OPCODE
    with pytest.raises(DeviceError, match="BAD_ADDRESS"):
        dev._command("raw read", Opcode.READ, hp.range_payload(3 << 24, 1))


def test_ranges_are_checked_before_sending():
    dev, _ = device()
    for call, match in [
        (lambda: dev.read(2, Region.U, 0, 1), "core must be in"),
        (lambda: dev.read(0, Region.U, 120, 9), "index into U must be in"),
        (lambda: dev.read(0, Region.U, 0, 0), "count must be at least 1"),
        (lambda: dev.write(0, Region.REGS, Reg.STATUS, [0, 0]), "STEPS are read-only"),
        (lambda: dev.write(0, Region.S, 0, [2]), "value 2 at position 0 does not fit 1"),
        (lambda: dev.run(-1), "steps must be in"),
        (lambda: dev.inject(0, [1]), "inject needs 64 spikes"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
    assert dev.stats.frames == 0


def test_check_refuses_a_chip_of_another_configuration():
    dev, _ = device()
    dev.check()
    other, _ = device(model_cfg=CoreConfig(axons=64, neurons=64, lanes=8))
    with pytest.raises(DeviceError, match=f"expected {hp.VERSION}, 2, 0x"):
        other.check()


def test_routing_tables_go_through_the_mesh_regions_and_check_compares_meshes():
    mesh = Mesh(rows=1, cols=2, depth=40, fanout=4)
    model = Model(CFG, 2, mesh)
    dev = Device(ModelTransport(model), cfg=CFG, mesh=mesh)
    dev.check()
    table = noc.route_table(mesh, CFG, [[noc.Dest(1, 5), noc.Dest(0, 63)], [], [noc.Dest(1, 0)]],
                            core=0)
    dev.write(0, Region.ROUTE_PTR, 0, table.pointer_words(mesh))
    dev.write(0, Region.ROUTE_DEST, 0, table.dest_words(mesh, CFG))
    assert dev.read(0, Region.ROUTE_PTR) == table.pointer_words(mesh)
    assert dev.read(0, Region.ROUTE_DEST, 0, 3) == table.dest_words(mesh, CFG)
    with pytest.raises(ValueError, match=r"index into ROUTE_DEST must be in \[0, 39\], not 40"):
        dev.read(1, Region.ROUTE_DEST, 40, 1)
    for other in (Mesh(rows=2, cols=1, depth=40, fanout=4), None):
        wrong = Device(ModelTransport(model), cfg=CFG, cores=2)
        wrong.mesh = other
        with pytest.raises(DeviceError, match=re.escape(f"mesh {mesh}; expected")):
            wrong.check()
    bare, _ = device()
    with pytest.raises(ValueError, match="ROUTE_PTR has no entries on a chip without a mesh"):
        bare.read(0, Region.ROUTE_PTR, 0, 1)


def test_silence_is_a_link_error():
    class Mute:
        def write(self, data):
            pass

        def read(self, n, timeout):
            return b""

    dev = Device(Mute(), cfg=CFG, timeout=0.01)
    with pytest.raises(LinkError, match="ping: no answer, 0 of 5 header bytes"):
        dev.ping()
