"""Properties of the integer reference model (the specification of the chip's arithmetic)."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glocal.golden import fixed, reference
from glocal.golden.config import CoreConfig
from glocal.sim.vectors import random_params, random_spikes, random_state

SMALL = [
    CoreConfig(axons=8, neurons=8, lanes=2),
    CoreConfig(axons=16, neurons=32, lanes=8, u_bits=12, theta_bits=12, bias_bits=10),
    CoreConfig(axons=5, neurons=4, lanes=4, w_bits=4, h_bits=6, h_frac=3, acc_bits=9,
               alpha_bits=8, alpha_frac=4, beta_bits=6, beta_frac=5, decay_frac=4, p_frac=8),
]

cfg_st = st.sampled_from(SMALL)
seed_st = st.integers(0, 2**32 - 1)


def _setup(cfg, seed, learn=None, batch=()):
    rng = np.random.default_rng(seed)
    core = random_params(cfg, rng, learn=learn)
    state = random_state(cfg, rng, core.regs, batch)
    return rng, core, state


def _in_signed(x, bits):
    return fixed.smin(bits) <= np.min(x) and np.max(x) <= fixed.smax(bits)


@settings(max_examples=150, deadline=None)
@given(cfg_st, seed_st, st.floats(0, 1))
def test_every_intermediate_fits_its_declared_width(cfg, seed, rate):
    rng, core, state = _setup(cfg, seed)
    r = core.regs
    x = random_spikes(cfg, rng, rate)
    t = (state.t + 1) % (1 << cfg.ts_bits)
    aged = reference.age(cfg, state.hebb, state.t_last, t, core.p_table)
    assert np.all(np.abs(aged) <= np.abs(state.hebb)), "decay never grows a weight"
    acc_w, acc_h = reference.integrate(x, core.weight, aged)
    assert _in_signed(acc_w, cfg.acc_bits) and _in_signed(acc_h, cfg.acc_bits)
    i = reference.current(cfg, acc_w, acc_h, core.bias, r.alpha)
    assert _in_signed(i, cfg.i_bits)
    v = reference.reset(state.u, state.s, r.vth_shift)
    assert _in_signed(v, cfg.u_bits + 1)
    u = reference.charge(cfg, v, i, r.decay)
    assert _in_signed(u, cfg.u_bits)
    f = reference.post_trace(u, core.theta, r.vth_shift)
    assert np.all(np.abs(f) <= 127)
    hebb, _ = reference.learn(cfg, x, state.hebb, aged, state.t_last, t, state.refresh,
                              core.beta, f, r.h_max)
    assert np.all(np.abs(hebb) <= r.h_max), "clamp bound holds"


@settings(max_examples=60, deadline=None)
@given(cfg_st, seed_st)
def test_batch_and_per_sample_paths_agree(cfg, seed):
    rng, core, state = _setup(cfg, seed, batch=(3,))
    xs = random_spikes(cfg, rng, 0.4, (4, 3))
    final, _ = reference.run(cfg, core, state, xs)
    for b in range(3):
        one = dataclasses.replace(state, u=state.u[b], s=state.s[b], hebb=state.hebb[b],
                                  t_last=state.t_last[b])
        alone, _ = reference.run(cfg, core, one, xs[:, b])
        for name in ("u", "s", "hebb", "t_last"):
            np.testing.assert_array_equal(getattr(final, name)[b], getattr(alone, name))
        assert (final.t, final.refresh) == (alone.t, alone.refresh)


@settings(max_examples=60, deadline=None)
@given(cfg_st, seed_st)
def test_plasticity_off_leaves_hebbian_state_unchanged(cfg, seed):
    rng, core, state = _setup(cfg, seed, learn=False)
    final, _ = reference.run(cfg, core, state, random_spikes(cfg, rng, 0.5, (5,)))
    np.testing.assert_array_equal(final.hebb, state.hebb)
    np.testing.assert_array_equal(final.t_last, state.t_last)
    assert (final.t, final.refresh) == (state.t, state.refresh)


@settings(max_examples=60, deadline=None)
@given(cfg_st, seed_st)
def test_refresh_bounds_the_age_of_every_row(cfg, seed):
    rng, core, state = _setup(cfg, seed, learn=True)
    mask = (1 << cfg.ts_bits) - 1
    xs = random_spikes(cfg, rng, 0.05, (3 * cfg.axons,))
    _, trace = reference.run(cfg, core, state, xs)
    for s in trace[cfg.axons:]:
        assert np.all(((s.t - s.t_last) & mask) < cfg.axons)


def test_untouched_row_decays_as_one_rounding_of_the_closed_form():
    cfg = CoreConfig(axons=64, neurons=2, lanes=2)
    p = reference.decay_table(cfg, 0.9)
    hebb = np.array([[100, -100]] * 64)
    t_last = np.zeros(64, dtype=np.int64)
    for k in (0, 1, 5, 40):
        got = reference.age(cfg, hebb, t_last, k, p)
        want = np.floor(np.array([100, -100]) * p[k] / 2**cfg.p_frac + 0.5)
        np.testing.assert_array_equal(got[0], want)
        assert abs(p[k] / 2**cfg.p_frac - 0.9**k) <= 2**-cfg.p_frac


def test_one_step_by_hand():
    """Pins the order of operations with numbers worked out on paper."""
    cfg = CoreConfig(axons=2, neurons=2, lanes=1)
    regs = reference.Registers(vth_shift=6, decay=192, alpha=128, h_max=100, learn=True)
    p = np.full(1 << cfg.ts_bits, 1 << cfg.p_frac)          # no Hebbian decay
    core = reference.CoreParams(weight=np.array([[30, -5], [20, 7]]), bias=np.array([1, 0]),
                                beta=np.array([64, 127]), theta=np.array([0, 64]),
                                p_table=p, regs=regs)
    state = reference.CoreState(u=np.array([70, 10]), s=np.array([1, 0]),
                                hebb=np.array([[10, -4], [0, 0]]), t_last=np.array([0, 0]))
    new = reference.step(cfg, core, state, np.array([1, 0]))
    # neuron 0: I = 30 + 1 + rnd(128·10/256) = 36; v = 70 − 64 = 6; u = rnd(192·6/256) + 36 = 41
    # neuron 1: I = −5 + 0 + rnd(128·−4/256) = −7; v = 10; u = rnd(7.5) + −7 = 1
    np.testing.assert_array_equal(new.u, [41, 1])
    np.testing.assert_array_equal(new.s, [0, 0])
    # f index: (41 − 0) >> 1 = 20 → f(20/32); (1 − 64) >> 1 = −32 → f(−1)
    f = fixed.F_TABLE[[128 + 20, 128 - 32]]
    delta = (64 * f + 256) >> 9                              # learn_shift = 7 + 7 − 5 = 9
    np.testing.assert_array_equal(new.hebb[0], np.clip([10, -4] + delta, -100, 100))
    # row 1 is not active: the refresh row this step is row 0, so row 1 keeps its timestamp
    np.testing.assert_array_equal(new.hebb[1], [0, 0])
    np.testing.assert_array_equal(new.t_last, [1, 0])
    assert (new.t, new.refresh) == (1, 1)


def test_membrane_saturates_at_both_limits():
    cfg = SMALL[0]
    big = fixed.smax(cfg.i_bits)
    for i, want in ((big, fixed.smax(cfg.u_bits)), (-big, fixed.smin(cfg.u_bits))):
        u = reference.charge(cfg, np.array([fixed.smax(cfg.u_bits)]), np.array([i]), 256)
        assert u[0] == want


def test_params_outside_their_widths_are_rejected_by_name():
    cfg = SMALL[0]
    core = random_params(cfg, np.random.default_rng(0))
    bad = dataclasses.replace(core, weight=core.weight + 1000)
    with pytest.raises(ValueError, match="weight must fit in 8 signed bits"):
        bad.check(cfg)
    with pytest.raises(ValueError, match="register vth_shift"):
        dataclasses.replace(core.regs, vth_shift=1).check(cfg)
    with pytest.raises(ValueError, match="bias must have shape"):
        dataclasses.replace(core, bias=core.bias[:-1]).check(cfg)


# -- per-synapse plasticity enable (cfg.plastic_mask) ------------------------------------

MASKED = [dataclasses.replace(c, plastic_mask=1) for c in SMALL]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(SMALL) - 1), seed_st)
def test_disabled_synapses_age_and_clamp_but_take_no_increment(k, seed):
    cfg, plain = MASKED[k], SMALL[k]
    rng, core, state = _setup(cfg, seed, learn=True)
    plastic = (rng.random((cfg.axons, cfg.neurons)) < 0.5).astype(np.int64)
    core = dataclasses.replace(core, plastic=plastic)
    x = random_spikes(cfg, rng, 0.5)
    new = reference.step(cfg, core, state, x)
    # The same core without the enable: every synapse learns.
    free = reference.step(plain, dataclasses.replace(core, plastic=None), state, x)
    t = free.t
    aged = reference.age(cfg, state.hebb, state.t_last, t, core.p_table)
    h_max = core.regs.h_max
    touched = ((x != 0) | (np.arange(cfg.axons) == state.refresh))[:, None]
    want = np.where(touched, np.where(plastic == 1, free.hebb, np.clip(aged, -h_max, h_max)),
                    state.hebb)
    np.testing.assert_array_equal(new.hebb, want)
    np.testing.assert_array_equal(new.u, free.u)
    np.testing.assert_array_equal(new.t_last, free.t_last)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(SMALL) - 1), seed_st)
def test_all_ones_enable_computes_what_a_core_without_it_does(k, seed):
    cfg, plain = MASKED[k], SMALL[k]
    rng, core, state = _setup(cfg, seed, learn=True)
    core = dataclasses.replace(core, plastic=np.ones((cfg.axons, cfg.neurons), np.int64))
    xs = random_spikes(cfg, rng, 0.3, (6,))
    _, got = reference.run(cfg, core, state, xs)
    _, want = reference.run(plain, dataclasses.replace(core, plastic=None), state, xs)
    for g, w in zip(got, want, strict=True):
        for name in ("u", "s", "hebb", "t_last"):
            np.testing.assert_array_equal(getattr(g, name), getattr(w, name))


def test_disabled_synapses_starting_at_zero_stay_zero():
    """``H⊙(1 − M)`` of the float model: with H reset to 0 the masked-out part never moves."""
    cfg = MASKED[1]
    rng, core, _ = _setup(cfg, 5, learn=True)
    core = dataclasses.replace(core, regs=dataclasses.replace(core.regs, h_max=cfg.h_max_limit),
                               beta=np.full(cfg.axons, fixed.smax(cfg.beta_bits)))
    plastic = (rng.random((cfg.axons, cfg.neurons)) < 0.3).astype(np.int64)
    core = dataclasses.replace(core, plastic=plastic)
    final, _ = reference.run(cfg, core, reference.CoreState.zeros(cfg),
                             random_spikes(cfg, rng, 0.5, (40,)))
    assert np.all(final.hebb[plastic == 0] == 0)
    assert np.count_nonzero(final.hebb[plastic == 1]) > 0


def test_the_enable_is_checked_against_the_config_by_name():
    cfg = MASKED[0]
    core = random_params(cfg, np.random.default_rng(1))
    assert core.plastic is not None and core.plastic.shape == (cfg.axons, cfg.neurons)
    with pytest.raises(ValueError, match="plastic must be a 0/1 array of shape .* not None"):
        dataclasses.replace(core, plastic=None).check(cfg)
    with pytest.raises(ValueError, match=r"plastic must have shape \(8, 8\)"):
        dataclasses.replace(core, plastic=core.plastic[:, :4]).check(cfg)
    with pytest.raises(ValueError, match="plastic entries must be 0 or 1, not 2"):
        dataclasses.replace(core, plastic=np.full_like(core.plastic, 2)).check(cfg)
    with pytest.raises(ValueError, match="plastic must be None on a core without"):
        dataclasses.replace(core, plastic=core.plastic).check(SMALL[0])
    with pytest.raises(ValueError, match="plastic_mask must be in"):
        CoreConfig(plastic_mask=2)
