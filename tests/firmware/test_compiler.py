"""The compiler: placed and routed programs compute what the layered reference computes,
and networks that do not fit are refused naming the layer and the limit."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from glocal.firmware.compiler import CompileError, compile_model, place
from glocal.golden import chip, network
from glocal.golden.config import CoreConfig
from glocal.golden.freeze import from_net
from glocal.golden.model import Net, NetSpec
from glocal.golden.noc import Mesh
from glocal.sim.networks import random_inputs, random_model

CFG = CoreConfig(axons=32, neurons=8, lanes=4)


def _layer_view(model, program, run, k, cores):
    """Layer ``k``'s spikes and final Hebbian weights (its neurons' columns) from the chip
    run, its cores side by side (the layered reference's wide layer)."""
    spikes = np.concatenate([run.spikes[:, c] for c in cores], axis=-1)
    hebb = np.concatenate([run.states[c].hebb for c in cores], axis=-1)
    n = model.layers[k].n_out
    return spikes[:, :n], hebb[:, :n]


def _assert_same(model, program, samples, persist):
    placed = place(model, program.cfg, program.mesh)
    states_c = states_n = None
    fired = np.zeros(len(model.layers) - 1, dtype=bool)
    for x in samples:
        want = network.run_network(model, x, states_n)
        got = chip.run(program, x, states_c)
        np.testing.assert_array_equal(got.output, want.membrane)
        assert got.prediction == int(want.prediction)
        for k, cores in enumerate(placed.cores):
            spikes, hebb = _layer_view(model, program, got, k, cores)
            if k < len(model.layers) - 1:
                np.testing.assert_array_equal(spikes, want.spikes[k])
                fired[k] |= bool(spikes.any())
            np.testing.assert_array_equal(hebb, want.states[k].hebb[:, :hebb.shape[1]])
        if persist:
            states_c, states_n = chip.next_sample(got.states), network.next_sample(want.states)
    assert fired.all(), "a layer never fired: the spike comparison would be vacuous"


@pytest.mark.parametrize("seed", range(3))
def test_split_layers_compute_what_the_layered_reference_computes(seed):
    rng = np.random.default_rng(seed)
    # 20 hidden neurons on 8-neuron cores: three cores (8, 8, 4); the next layer's 10
    # neurons on two, each of them reached by every hidden neuron (multicast ×2).
    model = random_model(CFG, (12, 20, 10, 4), rng, hebb_mode="persist")
    program = compile_model(model, mesh=Mesh(2, 3, depth=16, fanout=2))
    assert program.names == ("layer0[0:8]", "layer0[8:16]", "layer0[16:20]",
                             "layer1[0:8]", "layer1[8:10]", "layer2[0:4]")
    assert program.tables[1].targets(2) == (chip.Dest(3, 10), chip.Dest(4, 10))
    assert program.inputs[5] == (chip.Dest(0, 5), chip.Dest(1, 5), chip.Dest(2, 5))
    _assert_same(model, program, random_inputs(model, rng, 4), persist=True)


def test_unused_cores_stay_idle_and_outputs_span_a_split_readout():
    rng = np.random.default_rng(7)
    model = random_model(CFG, (10, 12), rng)            # the readout alone, 12 > 8 neurons
    program = compile_model(model, mesh=Mesh(2, 2))
    assert program.names == ("layer0[0:8]", "layer0[8:12]", "", "")
    assert program.outputs == tuple((0, j) for j in range(8)) + tuple((1, j) for j in range(4))
    assert not program.cores[2].weight.any() and not program.cores[3].regs.learn
    _assert_same(model, program, random_inputs(model, rng, 2), persist=False)


@pytest.mark.parametrize("neurons", [256, 8])
def test_a_trained_style_network_compiles_whole_or_split(neurons):
    torch.manual_seed(0)
    net = Net(NetSpec(sizes=(64, 24, 10), alpha0=0.6, beta0=0.5, eta0=0.2))
    model = from_net(net, encoding="rate", hebb_mode="reset")
    cfg = replace(model.cfg, neurons=neurons)
    program = compile_model(model, cfg=cfg)
    assert program.mesh == Mesh(1, 2 if neurons == 256 else 5)   # 24 → 3 cores, 10 → 2
    samples = random_inputs(model, np.random.default_rng(1), 3, rate=0.4)
    _assert_same(model, program, samples, persist=False)


def test_default_mesh_is_one_row_of_the_cores_needed():
    model = random_model(CFG, (12, 20, 4), np.random.default_rng(0))
    assert compile_model(model).mesh == Mesh(1, 4)


def test_widths_that_differ_from_the_model_are_refused():
    model = random_model(CFG, (12, 8, 4), np.random.default_rng(0))
    with pytest.raises(CompileError, match=r"w_bits 6 \(the model's: 8\); only neurons and "
                                           "lanes may differ"):
        compile_model(model, cfg=replace(CFG, w_bits=6))
    with pytest.raises(CompileError, match=r"axons 64 \(the model's: 32\)"):
        compile_model(model, cfg=replace(CFG, axons=64))
    compile_model(model, cfg=replace(CFG, neurons=16, lanes=8))   # geometry may differ


def test_a_fan_in_above_the_axons_is_refused_naming_the_layer():
    model = random_model(CFG, (12, 40, 4), np.random.default_rng(0))
    with pytest.raises(CompileError, match="layer layer1 has a fan-in of 40; a core has 32 "
                                           "axons"):
        compile_model(model)


def test_more_cores_than_the_mesh_has_is_refused():
    model = random_model(CFG, (12, 20, 4), np.random.default_rng(0))
    with pytest.raises(CompileError, match=r"needs 4 cores of 8 neurons \(layer0 3, layer1 1\);"
                                           " the 1×3 mesh has 3"):
        compile_model(model, mesh=Mesh(1, 3))


def test_a_fan_out_above_the_mesh_limit_is_refused():
    model = random_model(CFG, (12, 8, 20), np.random.default_rng(0))
    with pytest.raises(CompileError, match="layer layer0's neurons drive 3 cores of layer "
                                           "layer1; the fan-out limit is 2"):
        compile_model(model, mesh=Mesh(2, 2, fanout=2))


def test_a_routing_table_above_the_depth_is_refused():
    model = random_model(CFG, (12, 8, 12), np.random.default_rng(0))
    with pytest.raises(CompileError, match=r"layer layer0 on core 0 needs 16 routing-table "
                                           r"entries \(8 neurons × 2 cores\); a table holds 12"):
        compile_model(model, mesh=Mesh(1, 3, depth=12))


# -- per-synapse plasticity enables ----------------------------------------------------------

MASKED = replace(CFG, plastic_mask=1)


@pytest.mark.parametrize("seed", range(2))
def test_a_model_with_plasticity_enables_compiles_to_what_the_layered_reference_computes(seed):
    rng = np.random.default_rng(100 + seed)
    model = random_model(MASKED, (12, 20, 10, 4), rng, hebb_mode="persist")
    assert all(layer.plastic is not None for layer in model.layers[:-1])
    program = compile_model(model, mesh=Mesh(2, 3, depth=16, fanout=2))
    # Core 2 holds layer 0's neurons 16..19: their enables, then padding that learns nothing.
    np.testing.assert_array_equal(program.cores[2].plastic[:12, :4],
                                  model.layers[0].plastic[:, 16:20])
    assert not program.cores[2].plastic[:, 4:].any() and not program.cores[2].plastic[12:].any()
    assert program.cores[5].plastic.all()     # the readout: no enables given, all on
    _assert_same(model, program, random_inputs(model, rng, 3), persist=True)


def test_the_enables_change_what_the_hebbian_weights_learn():
    rng = np.random.default_rng(7)
    model = random_model(MASKED, (12, 20, 4), rng)
    x = random_inputs(model, rng, 1)[0]
    masked = network.run_network(model, x).states[0].hebb
    free_layer = replace(model.layers[0], plastic=None)
    free = network.run_network(replace(model, layers=(free_layer,) + model.layers[1:]), x)
    off = model.layers[0].plastic == 0
    assert np.count_nonzero(free.states[0].hebb[:12, :20][off]) > 0
    assert not masked[:12, :20][off].any()


def test_a_model_without_enables_runs_on_cores_with_them_as_on_cores_without():
    rng = np.random.default_rng(3)
    model = random_model(CFG, (12, 20, 4), rng, hebb_mode="persist")
    mesh = Mesh(1, 4, depth=16, fanout=2)
    plain = compile_model(model, mesh=mesh)
    masked = compile_model(model, cfg=MASKED, mesh=mesh)
    assert masked.cores[0].plastic.all() and plain.cores[0].plastic is None
    for x in random_inputs(model, rng, 2):
        a, b = chip.run(plain, x), chip.run(masked, x)
        np.testing.assert_array_equal(a.spikes, b.spikes)
        for sa, sb in zip(a.states, b.states, strict=True):
            np.testing.assert_array_equal(sa.hebb, sb.hebb)


def test_a_model_with_enables_is_refused_by_cores_without_them():
    model = random_model(MASKED, (12, 20, 4), np.random.default_rng(0))
    with pytest.raises(CompileError, match=r"plastic_mask 0 \(the model's: 1\)"):
        compile_model(model, cfg=CFG)
