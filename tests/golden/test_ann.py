"""Hybrid coding in the reference: multi-bit activations, ANN-mode cores, values on the NoC.

A deliberately naive per-neuron loop (:func:`naive_ann`) is the model the vectorised
reference is compared with; the rest checks the contracts' edges (widths, registers,
merging of values) with hand-computed numbers.
"""

import numpy as np
import pytest

from glocal.golden import chip, noc, reference
from glocal.golden.config import ConfigError, CoreConfig
from glocal.golden.fixed import rshift_round, saturate
from glocal.golden.memmap import Reg, Region, region_width, register_values
from glocal.golden.noc import Dest, Mesh
from glocal.golden.reference import CoreParams, CoreState, Mode, Registers

CFG = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=16, act_bits=4)


def params(rng, cfg=CFG, **regs):
    a, n = cfg.axons, cfg.neurons
    r = dict(vth_shift=6, decay=200, alpha=300, h_max=100, learn=True) | regs
    return CoreParams(weight=rng.integers(-128, 128, (a, n)), bias=rng.integers(-300, 300, n),
                      beta=rng.integers(-128, 128, a), theta=rng.integers(-64, 64, n),
                      p_table=reference.decay_table(cfg, 0.9), regs=Registers(**r))


def state(rng, cfg=CFG):
    a, n = cfg.axons, cfg.neurons
    return CoreState(u=rng.integers(-200, 200, n), s=rng.integers(0, 2, n),
                     hebb=rng.integers(-100, 101, (a, n)), t_last=rng.integers(0, 17, a),
                     t=int(rng.integers(0, 32)), refresh=int(rng.integers(0, a)))


def naive_ann(cfg, p, st, x):
    """Neuron by neuron, synapse by synapse: what an ANN step computes (u, s)."""
    u, s = [], []
    for j in range(cfg.neurons):
        acc_w = acc_h = 0
        for i in range(cfg.axons):
            k = (st.t - st.t_last[i]) % (1 << cfg.ts_bits)
            h = (int(p.p_table[k]) * int(st.hebb[i, j]) + (1 << (cfg.p_frac - 1))) >> cfg.p_frac
            acc_w += int(x[i]) * int(p.weight[i, j])
            acc_h += int(x[i]) * h
        i_j = acc_w + int(p.bias[j]) + rshift_round(p.regs.alpha * acc_h, cfg.alpha_frac)
        sh = p.regs.out_shift
        q = (i_j + (1 << sh >> 1)) >> sh
        u.append(saturate(i_j, cfg.u_bits))
        s.append(min(max(q, 0), cfg.act_max))
    return np.array(u), np.array(s)


@pytest.mark.parametrize("seed", range(6))
def test_ann_step_equals_naive_relu_and_freezes_plasticity(seed):
    rng = np.random.default_rng(seed)
    p = params(rng, mode=Mode.ANN, out_shift=int(rng.integers(0, 9)))
    st = state(rng)
    x = rng.integers(0, CFG.act_max + 1, CFG.axons) * (rng.random(CFG.axons) < 0.5)
    new = reference.step(CFG, p, st, x)
    u, s = naive_ann(CFG, p, st, x)
    np.testing.assert_array_equal(new.u, u)
    np.testing.assert_array_equal(new.s, s)
    assert 0 < np.count_nonzero(new.s) < CFG.neurons or new.s.max() < CFG.act_max, \
        "the case should exercise the ReLU and the clamp"
    # learn = True has no effect in ANN mode: H, timestamps and clocks stand still.
    np.testing.assert_array_equal(new.hebb, st.hebb)
    np.testing.assert_array_equal(new.t_last, st.t_last)
    assert (new.t, new.refresh) == (st.t, st.refresh)


def test_activate_rounds_half_up_then_clamps_to_relu_range():
    i = np.array([-5, -1, 0, 1, 2, 3, 5, 6, 29, 30, 31, 1000])
    # rnd(i, 2) = floor(i/4 + 1/2): -1, 0, 0, 0, 1, 1, 1, 2, 7, 8, 8, 250; clamp to [0, 15].
    np.testing.assert_array_equal(reference.activate(CFG, i, 2),
                                  [0, 0, 0, 0, 1, 1, 1, 2, 7, 8, 8, 15])
    np.testing.assert_array_equal(reference.activate(CFG, i, 0),
                                  [0, 0, 0, 1, 2, 3, 5, 6, 15, 15, 15, 15])


def test_snn_core_weighs_multibit_inputs_and_learns_with_x_times_delta():
    rng = np.random.default_rng(7)
    p = params(rng)
    st = state(rng)
    x = np.zeros(CFG.axons, np.int64)
    x[[1, 4, 9]] = [3, 15, 1]
    t = (st.t + 1) % (1 << CFG.ts_bits)
    aged = reference.age(CFG, st.hebb, st.t_last, t, p.p_table)
    acc_w, acc_h = reference.integrate(x, p.weight, aged)
    np.testing.assert_array_equal(acc_w, 3 * p.weight[1] + 15 * p.weight[4] + p.weight[9])
    new = reference.step(CFG, p, st, x)
    f = reference.post_trace(new.u, p.theta, p.regs.vth_shift)
    delta = rshift_round(p.beta[4] * f, CFG.learn_shift)
    np.testing.assert_array_equal(new.hebb[4], np.clip(aged[4] + 15 * delta, -100, 100))
    assert new.t_last[4] == t and new.t_last[1] == t


def test_a_nonzero_activation_left_in_s_resets_like_a_spike():
    u, s = np.array([100, 100, 100]), np.array([0, 1, 9])
    np.testing.assert_array_equal(reference.reset(u, s, 6), [100, 36, 36])


def test_inputs_outside_the_activation_range_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"inputs must be in \[0, 15\]"):
        reference.step(CFG, params(rng), state(rng), np.full(CFG.axons, 16))
    spikes = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
    with pytest.raises(ValueError, match=r"inputs must be in \[0, 1\]"):
        reference.step(spikes, params(rng, spikes), state(rng, spikes),
                       np.full(16, 2))


def test_config_sizes_the_accumulator_for_products_and_names_act_bits():
    with pytest.raises(ConfigError, match=r"acc_bits must be at least 16 .*act_bits"):
        CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=15, act_bits=4)
    with pytest.raises(ConfigError, match=r"CoreConfig.act_bits must be in \[1, 8\], not 9"):
        CoreConfig(act_bits=9)
    assert CoreConfig().act_bits == 1 and CoreConfig().product_bits == 8
    assert CFG.product_bits == 12 and CFG.act_max == 15


def test_registers_refuse_ann_without_activations_and_shifts_out_of_range():
    spikes = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
    r = dict(vth_shift=6, decay=0, alpha=0, h_max=0)
    with pytest.raises(ValueError, match="mode ANN needs a core with act_bits > 1"):
        Registers(**r, mode=Mode.ANN).check(spikes)
    hi = CFG.out_shift_range[1]
    with pytest.raises(ValueError, match=rf"out_shift must be an integer in \[0, {hi}\]"):
        Registers(**r, mode=Mode.ANN, out_shift=hi + 1).check(CFG)
    with pytest.raises(ValueError, match="register mode must be a Mode"):
        Registers(**r, mode=2).check(CFG)
    vals = register_values(Registers(**r, mode=Mode.ANN, out_shift=3))
    assert (vals[Reg.MODE], vals[Reg.OUT_SHIFT]) == (1, 3)


def test_memory_map_and_packets_carry_act_bits_values():
    mesh = Mesh(1, 2, depth=8, fanout=2)
    assert region_width(CFG, Region.AXON) == 4 and region_width(CFG, Region.S) == 4
    assert noc.packet_fields(mesh, CFG) == {"x": 1, "y": 1, "axon": 4, "value": 4}
    assert noc.dest_fields(mesh, CFG) == {"x": 1, "y": 1, "axon": 4}
    assert region_width(CFG, Region.ROUTE_DEST, mesh) == 6
    spikes = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
    assert noc.packet_fields(mesh, spikes) == noc.dest_fields(mesh, spikes)


def test_values_meeting_on_an_axon_merge_by_bitwise_or():
    mesh = Mesh(1, 2, depth=8, fanout=2)
    targets0 = [[Dest(1, 3)], [Dest(1, 3 + 1)], [Dest(1, 5)]]
    targets1 = [[Dest(1, 5)]]
    tables = [noc.route_table(mesh, CFG, targets0, core=0),
              noc.route_table(mesh, CFG, targets1, core=1)]
    fired = np.zeros((2, 8), np.int64)
    fired[0, :3] = [6, 0, 9]
    fired[1, 0] = 3
    got = noc.deliver(mesh, CFG, tables, fired)
    assert got[1, 3] == 6 and got[1, 4] == 0 and got[1, 5] == 9 | 3
    t = noc.traffic(mesh, CFG, tables, fired)
    assert sorted(t.values) == [3, 6, 9] and t.injected.tolist() == [2, 1]
    with pytest.raises(noc.NocError, match=r"outputs in \[0, 15\]"):
        noc.deliver(mesh, CFG, tables, fired * 2)


def test_an_ann_layer_feeds_a_plastic_snn_layer_one_hop_per_step():
    rng = np.random.default_rng(3)
    mesh = Mesh(1, 2, depth=16, fanout=2)
    ann = params(rng, mode=Mode.ANN, out_shift=5, learn=False)
    snn = params(rng)
    tables = (noc.route_table(mesh, CFG, [[Dest(1, j)] for j in range(8)], core=0),
              noc.route_table(mesh, CFG, [], core=1))
    inputs = tuple((Dest(0, i),) for i in range(16))
    program = chip.Program(CFG, mesh, (ann, snn), tables, inputs,
                           tuple((1, j) for j in range(8)))
    x = rng.integers(0, 16, (4, 16))
    states = [CoreState.zeros(CFG), CoreState.zeros(CFG)]
    got = chip.run(program, x, states)
    # By hand: the ANN core's activations of step t are the SNN core's inputs at t + 1.
    s0, s1 = states
    for k in range(4):
        s0 = reference.step(CFG, ann, s0, x[k])
        prev = got.spikes[k - 1, 0] if k else np.zeros(8, np.int64)
        s1 = reference.step(CFG, snn, s1, np.concatenate([prev, np.zeros(8, np.int64)]))
        np.testing.assert_array_equal(got.spikes[k, 0], s0.s)
        np.testing.assert_array_equal(got.spikes[k, 1], s1.s)
    assert got.spikes[:, 0].max() > 1, "the ANN layer should put out multi-bit values"
    np.testing.assert_array_equal(got.states[1].hebb, s1.hebb)
    with pytest.raises(chip.ProgramError, match=r"integers in \[0, 15\]"):
        chip.run(program, x + 16, states)
