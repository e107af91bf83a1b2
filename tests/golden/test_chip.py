"""Chip-level reference: routing by tables, one step per hop, errors that name the problem."""

import numpy as np
import pytest

from glocal.golden import chip, network, noc, reference
from glocal.golden.chip import Program, ProgramError
from glocal.golden.config import CoreConfig
from glocal.golden.export import ChipLayer, ChipModel
from glocal.golden.noc import Dest, Mesh
from glocal.sim.vectors import random_params

CFG = CoreConfig(axons=16, neurons=8, lanes=4)


def _layers(rng, sizes):
    """A ChipModel with random layers of ``sizes`` (in, hidden…, classes), readout last."""
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        p = random_params(CFG, rng, learn=True)
        lo = CFG.vth_shift_range[0]
        regs = reference.Registers(vth_shift=lo + 2, decay=p.regs.decay, alpha=p.regs.alpha,
                                   h_max=p.regs.h_max, learn=k < len(sizes) - 2)
        layers.append(ChipLayer(f"layer{k}", k == len(sizes) - 2, p.weight[:n_in, :n_out],
                                p.bias[:n_out], p.beta[:n_in], p.theta[:n_out], p.p_table,
                                regs, 1.0))
    return ChipModel(CFG, tuple(layers), steps=6, encoding="rate", hebb_mode="paper")


def _one_core_per_layer(model, mesh):
    """Layer l on core l; neuron j of layer l drives axon j of layer l + 1."""
    tables = []
    for c in range(mesh.cores):
        targets = []
        if c + 1 < len(model.layers):
            targets = [[Dest(c + 1, j)] for j in range(model.layers[c].n_out)]
        tables.append(noc.route_table(mesh, CFG, targets, core=c))
    cores = [layer.core_params(CFG, 0) for layer in model.layers]
    cores += [chip.idle_core(CFG)] * (mesh.cores - len(cores))
    last = len(model.layers) - 1
    return Program(CFG, mesh, tuple(cores), tuple(tables),
                   inputs=tuple((Dest(0, i),) for i in range(model.layers[0].n_in)),
                   outputs=tuple((last, j) for j in range(model.layers[-1].n_out)))


@pytest.mark.parametrize("seed", range(4))
def test_one_core_per_layer_equals_the_network_reference(seed):
    rng = np.random.default_rng(seed)
    model = _layers(rng, (12, 8, 6, 4))
    program = _one_core_per_layer(model, Mesh(2, 2, depth=16, fanout=2))
    states_c, states_n = None, None
    for _ in range(3):   # Hebbian traces carried over samples
        x = (rng.random((model.steps, 12)) < 0.4).astype(np.int64)
        want = network.run_network(model, x, states_n)
        got = chip.run(program, x, states_c)
        np.testing.assert_array_equal(got.output, want.membrane)
        assert got.prediction == int(want.prediction)
        for layer, spikes in enumerate(want.spikes):
            np.testing.assert_array_equal(got.spikes[:, layer, :spikes.shape[-1]], spikes)
        for g, w in zip(got.states, want.states, strict=False):
            np.testing.assert_array_equal(g.hebb, w.hebb)
        states_c, states_n = chip.next_sample(got.states), network.next_sample(want.states)


def test_a_spike_reaches_every_multicast_destination_one_step_later():
    mesh = Mesh(1, 3, depth=4, fanout=2)
    p = chip.idle_core(CFG)
    lo = CFG.vth_shift_range[0]
    w = np.zeros((CFG.axons, CFG.neurons), np.int64)
    w[0, 0] = 1 << lo   # input axon 0 makes neuron 0 of core 0 fire at once
    src = reference.CoreParams(weight=w, bias=p.bias, beta=p.beta, theta=p.theta,
                               p_table=p.p_table,
                               regs=reference.Registers(vth_shift=lo, decay=0, alpha=0,
                                                        h_max=0, learn=False))
    tables = [noc.route_table(mesh, CFG, [[Dest(1, 5), Dest(2, 7)]], core=0),
              noc.route_table(mesh, CFG, [], core=1), noc.route_table(mesh, CFG, [], core=2)]
    program = Program(CFG, mesh, (src, p, p), tuple(tables), inputs=((Dest(0, 0),),),
                      outputs=((0, 0),))
    states, fired = chip.step(program, chip.zero_states(program), program.input_bitmap([1]))
    assert fired[0, 0] == 1 and fired.sum() == 1
    delivered = noc.deliver(mesh, CFG, program.tables, fired)
    assert delivered[1, 5] == 1 and delivered[2, 7] == 1 and delivered.sum() == 2
    run = chip.run(program, [[1], [0]])
    assert run.spikes[0, 0, 0] == 1


def test_errors_name_the_core_the_input_and_the_shape():
    mesh = Mesh(1, 2, depth=4, fanout=1)
    idle = chip.idle_core(CFG)
    tables = (noc.route_table(mesh, CFG, [[Dest(1, 3)]], core=0),
              noc.route_table(mesh, CFG, [], core=1))
    with pytest.raises(ProgramError, match="needs 2 cores' parameters, not 1"):
        Program(CFG, mesh, (idle,), tables, (), ())
    bad = reference.CoreParams(weight=idle.weight[:3], bias=idle.bias, beta=idle.beta,
                               theta=idle.theta, p_table=idle.p_table, regs=idle.regs)
    with pytest.raises(ProgramError, match=r"core 1 \(layer1\): weight"):
        Program(CFG, mesh, (idle, bad), tables, (), (), names=("layer0", "layer1"))
    with pytest.raises(ProgramError, match="input 0 enters axon 3 of core 1, which another"):
        Program(CFG, mesh, (idle, idle), tables, ((Dest(1, 3),),), ())
    with pytest.raises(ProgramError, match="input 0 enters axon 16 of core 0, outside"):
        Program(CFG, mesh, (idle, idle), tables, ((Dest(0, 16),),), ())
    with pytest.raises(ProgramError, match="output 0 is neuron 8 of core 0"):
        Program(CFG, mesh, (idle, idle), tables, (), ((0, 8),))
    program = Program(CFG, mesh, (idle, idle), tables, ((Dest(0, 0), Dest(1, 0)),), ((1, 0),))
    with pytest.raises(ProgramError, match=r"shape \(1,\), not \(2,\)"):
        program.input_bitmap([1, 0])
    with pytest.raises(ProgramError, match="spikes"):
        program.input_bitmap([2])
    assert program.input_bitmap([1])[:, 0].tolist() == [1, 1]   # one input, two cores
