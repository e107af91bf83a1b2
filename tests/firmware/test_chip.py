"""The chip driver against the Python model of the host interface and bus-RAM fixture.

These tests check the driver's own work: what it writes where, what it refuses before
writing, which axons and neurons it touches. The fixture's step only copies the axon
bits into the spikes; what the real chip computes is checked end to end against the
chip-level reference in ``tests/sim/test_chip_image.py``.
"""

import io
import json
import zipfile

import numpy as np
import pytest

from glocal.firmware import image
from glocal.firmware.chip import Chip
from glocal.firmware.compiler import compile_model
from glocal.firmware.driver import Device, DeviceError
from glocal.firmware.image import ImageError
from glocal.golden import hostproto as hp
from glocal.golden.config import CoreConfig
from glocal.golden.digest import manifest_sha256
from glocal.golden.hostproto import Opcode
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.sim.hostmodel import Model, ModelTransport
from glocal.sim.networks import random_model

CFG = CoreConfig(axons=32, neurons=8, lanes=4)
MESH = Mesh(2, 2, depth=16, fanout=2)


class Recording(ModelTransport):
    """The model's transport, remembering the opcode of every request frame."""

    def __init__(self, model):
        super().__init__(model)
        self.opcodes = []

    def write(self, data: bytes) -> None:
        pos = 0
        while pos + 4 <= len(data):
            total = hp.REQUEST_OVERHEAD + int.from_bytes(data[pos + 2:pos + 4], "little")
            self.opcodes.append(hp.decode_request(data[pos:pos + total]).opcode)
            pos += total
        super().write(data)


def _setup(chip_cfg=CFG, chip_mesh=MESH):
    model = Model(chip_cfg, chip_mesh.cores, chip_mesh)
    link = Recording(model)
    return Chip(Device(link, cfg=CFG, mesh=MESH)), model, link


@pytest.fixture
def program():
    # 12 inputs → 12 hidden neurons on two 8-neuron cores → a 4-neuron readout.
    return compile_model(random_model(CFG, (12, 12, 4), np.random.default_rng(0)), mesh=MESH)


def test_load_writes_every_region_and_register_and_verifies(program, tmp_path):
    chip, model, link = _setup()
    path = image.save(program, tmp_path / "p.glimg")
    assert chip.load(path, verify=True) is chip.program
    for w in image.writes(program):
        got = [model.get(w.core, w.region, w.index + i) for i in range(len(w.values))]
        assert got == w.values.tolist(), (w.core, w.region.name)
    assert model.get(1, Region.ROUTE_PTR, 3) == program.tables[1].pointer_words(MESH)[3] != 0
    assert model.get(0, Region.REGS, Reg.LEARN) == 1
    assert link.opcodes[0] == Opcode.PING and link.opcodes[-1] == Opcode.RESET


def test_skipping_zeros_writes_fewer_frames_and_the_same_memory(program):
    chip, model, link = _setup()
    chip.load(program)
    full = (dict(model.mem), len(link.opcodes))
    chip2, model2, link2 = _setup()
    chip2.load(program, skip_zeros=True)
    assert len(link2.opcodes) < full[1]
    assert {k: v for k, v in full[0].items() if v} == {k: v for k, v in model2.mem.items() if v}


def _damaged(path, tmp_path, how):
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    m = json.loads(entries["manifest.json"])
    if how == "version":
        m["version"] = image.VERSION + 1
        m["manifest_sha256"] = manifest_sha256(m)
    else:
        a = np.load(io.BytesIO(entries["arrays/core0.WEIGHT.npy"]))
        a[5] += 1
        buf = io.BytesIO()
        np.save(buf, a)
        entries["arrays/core0.WEIGHT.npy"] = buf.getvalue()
    entries["manifest.json"] = json.dumps(m).encode()
    out = tmp_path / f"{how}.glimg"
    with zipfile.ZipFile(out, "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    return out


@pytest.mark.parametrize("how", ["version", "corrupt"])
def test_a_bad_image_is_refused_before_anything_is_written(program, tmp_path, how):
    chip, model, link = _setup()
    bad = _damaged(image.save(program, tmp_path / "p.glimg"), tmp_path, how)
    with pytest.raises(ImageError, match="version" if how == "version" else "checksum"):
        chip.load(bad)
    assert Opcode.WRITE not in link.opcodes and not model.mem and chip.program is None


@pytest.mark.parametrize("other", [
    (CoreConfig(axons=32, neurons=16, lanes=4), MESH),
    (CFG, Mesh(2, 2, depth=32, fanout=2)),
    (CFG, Mesh(1, 4, depth=16, fanout=2)),
])
def test_a_chip_of_another_geometry_is_refused_before_anything_is_written(program, other):
    cfg, mesh = other
    chip, model, link = _setup(cfg, mesh)
    with pytest.raises(DeviceError, match="load: ping: the chip reports"):
        chip.load(program)
    assert link.opcodes == [Opcode.PING] and not model.mem


def test_run_writes_each_input_into_every_input_core_and_reads_the_outputs(program,
                                                                             monkeypatch):
    chip, model, link = _setup()
    chip.load(program)
    x = (np.random.default_rng(3).random((2, 6, 12)) < 0.4).astype(np.int64)
    execute = model.execute

    def step_sets_membranes(op, payload):   # the readout (core 2) "computes" 5, -7, 9, 1
        out = execute(op, payload)
        if op is Opcode.RUN:
            for j, v in enumerate((5, -7, 9, 1)):
                model.put(2, Region.U, j, v)
        return out

    monkeypatch.setattr(model, "execute", step_sets_membranes)
    res = chip.run(x)
    # The fixture's step copies the axon bits into S: input i lands on axon i of both
    # hidden cores (0 and 1), and nothing lands on the readout's axons.
    for c in (0, 1):
        np.testing.assert_array_equal(res.spikes[:, :, c, :8], x[:, :, :8])
    assert not res.spikes[:, :, 2:].any()
    assert res.outputs.tolist() == [[5, -7, 9, 1]] * 2 and res.predictions.tolist() == [2, 2]
    assert res.cycles.tolist() == [x.shape[1]] * 2   # the model answers RUN with its steps
    resets = [op for op in link.opcodes if op == Opcode.RESET]
    assert len(resets) == 1 + 2                       # after loading, then every sample


def test_set_plasticity_updates_the_chip_and_the_program(program):
    chip, model, _ = _setup()
    chip.load(program)
    chip.set_plasticity(False, alpha=3)
    assert [model.get(c, Region.REGS, Reg.LEARN) for c in range(3)] == [0, 0, 0]
    assert model.get(1, Region.REGS, Reg.ALPHA) == 3
    assert not any(p.regs.learn for p in chip.program.cores)
    assert chip.program.cores[0].regs.alpha == 3


def test_verify_names_an_entry_that_reads_back_differently(program, monkeypatch):
    chip, model, _ = _setup()
    put = model.put

    def stuck(core, region, index, value):      # one stuck-at-zero bias entry
        put(core, region, index, 0 if (core, region, index) == (1, Region.BIAS, 2) else value)

    monkeypatch.setattr(model, "put", stuck)
    want = int(program.cores[1].bias[2])
    assert want != 0
    with pytest.raises(DeviceError, match=rf"verify BIAS\[0:8\] of core 1: entry 2 "
                                          rf"reads 0, wrote {want}"):
        chip.load(program, verify=True)


def test_run_refuses_samples_of_the_wrong_shape_before_sending(program):
    chip, _, link = _setup()
    chip.load(program)
    sent = len(link.opcodes)
    with pytest.raises(ValueError, match=r"shape \(samples, steps, 12\), not \(2, 6, 11\)"):
        chip.run(np.zeros((2, 6, 11), dtype=np.int64))
    assert len(link.opcodes) == sent
