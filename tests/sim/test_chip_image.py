"""End to end: model → compiler → image file → driver → UART bytes → the Verilated
multi-core chip → outputs and spikes equal to the chip-level reference.

One Verilated chip (a 1×2 mesh of small cores) serves the module; each test loads its
own image into it.
"""

from dataclasses import replace

import numpy as np
import pytest

from glocal.firmware import image
from glocal.firmware.chip import Chip
from glocal.firmware.compiler import compile_model
from glocal.firmware.driver import Device
from glocal.golden import chip as golden_chip
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Region
from glocal.golden.noc import Mesh
from glocal.rtl.chip import Chip as RtlChip
from glocal.sim.cocotb_link import SimTransport
from glocal.sim.networks import random_inputs, random_model
from glocal.sim.toolchain import build_root

CFG = CoreConfig(axons=16, neurons=8, lanes=4, acc_bits=12)
MESH = Mesh(rows=1, cols=2, depth=16, fanout=2)
DIVISOR = 4


@pytest.fixture(scope="module")
def chip():
    rtl = RtlChip(cfg=CFG, mesh=MESH, clk_freq=4e6, baud=4e6 / DIVISOR)
    with SimTransport(rtl, divisor=DIVISOR, build_dir=build_root() / "chip_image") as link:
        yield Chip(Device(link, cfg=CFG, mesh=MESH, timeout=30.0))


def _check(chip, x, *, keep_hebb):
    """Run ``x`` on the chip and compare every spike, membrane and output with the
    reference; returns the results and the reference's final states."""
    res = chip.run(x, keep_hebb=keep_hebb, keep_membranes=True)
    states = None
    for s in range(len(x)):
        ref = golden_chip.run(chip.program, x[s], states if keep_hebb else None)
        states = ref.states
        np.testing.assert_array_equal(res.spikes[s], ref.spikes, err_msg=f"sample {s}")
        np.testing.assert_array_equal(res.membranes[s], ref.membrane, err_msg=f"sample {s}")
        np.testing.assert_array_equal(res.outputs[s], ref.output, err_msg=f"sample {s}")
        assert res.predictions[s] == ref.prediction
        states = golden_chip.next_sample(states)
    return res, states


@pytest.mark.parametrize("keep_hebb", [False, True])
def test_an_image_loaded_over_the_uart_computes_what_the_reference_computes(
        chip, tmp_path, keep_hebb):
    rng = np.random.default_rng(5 + keep_hebb)
    model = random_model(CFG, (12, 8, 4), rng, steps=5,
                         hebb_mode="persist" if keep_hebb else "reset")
    program = compile_model(model, mesh=MESH)
    path = image.save(program, tmp_path / "m.glimg")
    chip.load(path, verify=True)
    x = random_inputs(model, rng, 3, rate=0.4)
    res, states = _check(chip, x, keep_hebb=keep_hebb)
    assert res.spikes[:, :, 0].any() and res.spikes[:, :, 0].sum() < res.spikes[:, :, 0].size
    assert (res.cycles > 0).all() and (res.syn_ops > 0).all()
    # The Hebbian state the chip ends with is the reference's too.
    got, want = chip.read_state([0])[0], states[0]
    np.testing.assert_array_equal(got.hebb, want.hebb)
    np.testing.assert_array_equal(got.t_last, want.t_last)
    assert (got.t, got.refresh) == (want.t, want.refresh)
    assert want.hebb.any()


def test_a_plastic_layer_split_over_both_cores_takes_every_input_on_each(chip):
    rng = np.random.default_rng(11)
    # One spiking plastic layer of 12 neurons on 8-neuron cores: neurons 0-7 on core 0,
    # 8-11 on core 1; every input enters both cores; the outputs span both.
    model = random_model(CFG, (12, 12), rng, steps=5, readout=False)
    program = compile_model(model, mesh=MESH)
    assert program.names == ("layer0[0:8]", "layer0[8:12]")
    chip.load(program, verify=True)
    res, states = _check(chip, random_inputs(model, rng, 2, rate=0.4), keep_hebb=False)
    assert res.spikes[:, :, 0].any() and res.spikes[:, :, 1].any()
    got = chip.read_state([1])[0]
    np.testing.assert_array_equal(got.hebb, states[1].hebb)
    assert states[1].hebb.any()


def test_every_sample_starts_from_the_cores_start_trace(chip, tmp_path):
    """A carried trace ``h0`` split over both cores: loaded from the image, every sample
    starts from it (the driver puts back the rows the sample before wrote), and the chip
    equals the reference sample after sample, spikes, membranes and H."""
    rng = np.random.default_rng(13)
    model = random_model(CFG, (12, 12), rng, steps=5, readout=False, start_trace=True)
    program = image.load(image.save(compile_model(model, mesh=MESH), tmp_path / "c.glimg"))
    assert all(p.h0 is not None and p.h0.any() for p in program.cores)
    chip.load(program, verify=True)
    start = golden_chip.zero_states(program)
    for c, s in enumerate(chip.read_state()):
        np.testing.assert_array_equal(s.hebb, start[c].hebb, err_msg=f"core {c} after load")
    x = random_inputs(model, rng, 3, rate=0.4)
    res, _ = _check(chip, x, keep_hebb=False)
    last = golden_chip.run(program, x[-1])
    for c, s in enumerate(chip.read_state()):
        np.testing.assert_array_equal(s.hebb, last.states[c].hebb, err_msg=f"core {c}")
        np.testing.assert_array_equal(s.t_last, last.states[c].t_last)
        assert (s.t, s.refresh) == (last.states[c].t, last.states[c].refresh)
        assert (s.hebb != start[c].hebb).any(), "the sample must have learned on chip"
    chip.restart(5)
    for c, s in enumerate(chip.read_state()):
        np.testing.assert_array_equal(s.hebb, start[c].hebb, err_msg=f"core {c} restarted")
        assert not s.t_last.any() and (s.t, s.refresh) == (0, 0) and not s.u.any()
    # The start trace matters: from H = 0 the same inputs give other membranes.
    zero = golden_chip.run(program, x[0], [replace(s, hebb=np.zeros_like(s.hebb))
                                           for s in start])
    assert (zero.membrane != golden_chip.run(program, x[0]).membrane).any()
    assert res.spikes.any()


def test_packets_counters_match_the_spikes_sent(chip, tmp_path):
    rng = np.random.default_rng(9)
    model = random_model(CFG, (12, 8, 4), rng, steps=4)
    program = compile_model(model, mesh=MESH)
    chip.load(program)
    before = chip.counters()
    x = random_inputs(model, rng, 2, rate=0.5)
    res = chip.run(x, learn=False)
    after = chip.counters()
    hidden_spikes = int(res.spikes[:, :, 0].sum())
    # Core 0's neurons each drive one axon of core 1 (the readout).
    assert after[0]["packets_out"] - before[0]["packets_out"] == hidden_spikes
    assert after[1]["packets_in"] - before[1]["packets_in"] == hidden_spikes
    assert not chip.program.cores[0].regs.learn
    _check(chip, x, keep_hebb=False)
    assert chip.device.read(0, Region.REGS, 4, 1) == [0]    # LEARN off on the chip
