"""Hybrid coding in the firmware. Compiling a hybrid network: a non-spiking (ANN) feature
layer feeding a plastic spiking layer and a readout, the structure the paper uses for
few-shot learning; and the driver injecting multi-bit inputs.

A layer is an ANN layer when its registers say ``Mode.ANN``; the compiler copies them to
every core of the layer, so the chip-level reference of the compiled program must equal
the layered reference (:func:`glocal.golden.network.run_network`) bit for bit, and a
target whose cores cannot hold the model's activations is refused.
"""

import dataclasses

import numpy as np
import pytest

from glocal.firmware.compiler import CompileError, compile_model
from glocal.firmware.driver import Device
from glocal.golden import chip, network, reference
from glocal.golden.config import CoreConfig
from glocal.golden.export import ChipLayer, ChipModel, load_model, save_model
from glocal.golden.memmap import Region
from glocal.golden.noc import Mesh
from glocal.golden.reference import Mode, Registers
from glocal.sim.hostmodel import Model, ModelTransport

CFG = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=16, act_bits=3)


def hybrid_model(cfg=CFG, seed=0) -> ChipModel:
    rng = np.random.default_rng(seed)

    def layer(name, n_in, n_out, regs, readout=False):
        return ChipLayer(name, readout, rng.integers(-60, 61, (n_in, n_out)),
                         rng.integers(-40, 41, n_out), rng.integers(-100, 101, n_in),
                         rng.integers(-30, 31, n_out), reference.decay_table(cfg, 0.9),
                         regs, 1.0)

    ann = Registers(vth_shift=6, decay=0, alpha=0, h_max=0, learn=False, mode=Mode.ANN,
                    out_shift=6)
    snn = Registers(vth_shift=6, decay=200, alpha=256, h_max=60, learn=True)
    readout = Registers(vth_shift=cfg.vth_shift_range[1], decay=1 << cfg.decay_frac,
                        alpha=0, h_max=0, learn=False)
    return ChipModel(cfg, (layer("features", 16, 12, ann), layer("plastic", 12, 8, snn),
                           layer("readout", 8, 4, readout, readout=True)),
                     6, "values", "persist", {})


def test_ann_feature_layer_feeding_a_plastic_layer_compiles_to_the_network_reference():
    model = hybrid_model()
    program = compile_model(model, mesh=Mesh(2, 2, depth=16, fanout=2))
    assert [int(p.regs.mode) for p in program.cores] == [1, 1, 0, 0]
    rng = np.random.default_rng(1)
    x = rng.integers(0, CFG.act_max + 1, (6, 16)) * (rng.random((6, 16)) < 0.6)
    want = network.run_network(model, x)
    got = chip.run(program, x)
    np.testing.assert_array_equal(got.output, want.membrane)
    feat = np.concatenate([got.spikes[:, 0], got.spikes[:, 1, :4]], axis=1)
    np.testing.assert_array_equal(feat, want.spikes[0])
    assert feat.max() > 1, "the feature layer should put out multi-bit activations"
    np.testing.assert_array_equal(got.states[2].hebb[:12], want.states[1].hebb[:12])
    assert np.abs(want.states[1].hebb).sum() > 0, "the plastic layer should have learned"


def test_a_target_without_the_models_activation_width_is_refused():
    spikes = dataclasses.replace(CFG, act_bits=1, acc_bits=13)
    with pytest.raises(CompileError, match=r"act_bits 1 \(the model's: 3\)"):
        compile_model(hybrid_model(), cfg=spikes)


def test_an_ann_layer_needs_multibit_activations():
    cfg = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=13)
    with pytest.raises(ValueError, match="mode ANN needs a core with act_bits > 1"):
        hybrid_model(cfg)


def test_the_model_file_keeps_the_layer_modes(tmp_path):
    model = hybrid_model()
    back = load_model(save_model(model, tmp_path / "hybrid.npz"))
    assert [int(layer.regs.mode) for layer in back.layers] == [1, 0, 0]
    assert back.layers[0].regs.out_shift == 6


def test_the_driver_injects_activations_and_refuses_values_past_act_bits():
    dev = Device(ModelTransport(Model(CFG, 1)), cfg=CFG, cores=1)
    values = [i % (CFG.act_max + 1) for i in range(CFG.axons)]
    dev.inject(0, values)
    assert dev.read(0, Region.AXON) == values
    with pytest.raises(ValueError, match=r"inject values must be in \[0, 7\] \(act_bits = 3\), "
                                         r"not 8"):
        dev.inject(0, [8] * CFG.axons)
    spikes = dataclasses.replace(CFG, act_bits=1, acc_bits=13)
    dev1 = Device(ModelTransport(Model(spikes, 1)), cfg=spikes, cores=1)
    with pytest.raises(ValueError, match=r"inject values must be in \[0, 1\]"):
        dev1.inject(0, [2] * spikes.axons)
    assert dev1.stats.frames == 0
