"""Seeded random cores for the core regressions: parameters, initial state and inputs.

Random values alone rarely reach a limit, so every core draws a *flavour* per field:
plain random, or one of the field's corners (weights at full scale, membranes next to
saturation, ``h_max`` at 0 or its limit, leak 0 or 1, threshold exponent at either end,
extreme ``alpha`` and ``beta``, a decay table of all ones or all zeros). Input activity is
drawn per run from sparse to dense, and learning may be switched on, off, or toggled
between steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from glocal.golden import fixed, reference
from glocal.golden.config import CoreConfig
from glocal.golden.reference import CoreParams, CoreState, Mode
from glocal.sim.vectors import flavoured, random_params

__all__ = ["RandomRun", "random_run", "random_hybrid_run"]


@dataclass
class RandomRun:
    """One regression case: a core, its initial state, and per-step inputs and registers.

    Members
    -------
    params : CoreParams
    state : CoreState
    xs : ndarray, shape (steps, axons)
    learn : list of bool
        LEARN register for each step (the driver rewrites it when it changes).
    modes : list of Mode or None
        MODE register for each step (hybrid runs); ``None``: the parameters' mode.
    """

    params: CoreParams
    state: CoreState
    xs: np.ndarray
    learn: list[bool]
    modes: list[Mode] | None = None

    def params_at(self, k: int) -> CoreParams:
        """The parameters of step ``k``, its LEARN and MODE registers included."""
        regs = replace(self.params.regs, learn=self.learn[k])
        if self.modes is not None:
            regs = replace(regs, mode=self.modes[k])
        return replace(self.params, regs=regs)

    def expected(self, cfg: CoreConfig) -> list[CoreState]:
        """Reference state after every step."""
        state, out = self.state, []
        for k, x in enumerate(self.xs):
            state = reference.step(cfg, self.params_at(k), state, x)
            out.append(state)
        return out


def random_run(cfg: CoreConfig, seed: int, steps: int) -> RandomRun:
    """A seeded random core (`glocal.sim.vectors.random_params`) with a corner-flavoured
    initial state and inputs, ``steps`` steps long."""
    rng = np.random.default_rng(seed)
    a, n = cfg.axons, cfg.neurons
    smin, smax = fixed.smin, fixed.smax
    params = random_params(cfg, rng, learn=True)
    regs, h_max = params.regs, params.regs.h_max
    mask = (1 << cfg.ts_bits) - 1
    state = CoreState(
        u=flavoured(rng, (n,), cfg.u_bits, [smin(cfg.u_bits), smax(cfg.u_bits),
                                            (1 << regs.vth_shift) - 1, 1 << regs.vth_shift]),
        s=rng.integers(0, 2, n),
        hebb=flavoured(rng, (a, n), cfg.h_bits,
                       [smin(cfg.h_bits), smax(cfg.h_bits), h_max, -h_max]),
        t_last=rng.integers(0, mask + 1, a), t=int(rng.integers(0, mask + 1)),
        refresh=int(rng.integers(0, a)))
    density = float(rng.choice([0.0, 0.02, 0.05, 0.2, 0.5, 0.9, 1.0]))
    xs = (rng.random((steps, a)) < density).astype(np.int64)
    mode = rng.integers(0, 4)
    learn = ([True] * steps if mode < 2 else [False] * steps if mode == 2 else
             [bool(b) for b in rng.integers(0, 2, steps)])
    return RandomRun(params=params, state=state, xs=xs, learn=learn)


def random_hybrid_run(cfg: CoreConfig, seed: int, steps: int) -> RandomRun:
    """`random_run` with multi-bit inputs and outputs (``cfg.act_bits > 1``): input values
    ``1 .. act_max`` on the active axons (all at ``act_max`` one time in three), an initial
    ``s`` of activations, and the MODE register ANN throughout, SNN throughout (learning
    from multi-bit inputs), or switched between steps. ``out_shift`` is at a limit one time
    in three, otherwise fitted so that the first step's currents spread over the ReLU's
    range (neither all clamped nor all zero).
    """
    if cfg.act_bits == 1:
        raise ValueError("a hybrid run needs a core with act_bits > 1")
    run = random_run(cfg, seed, steps)
    rng = np.random.default_rng(seed + 10_000)
    values = (np.full(run.xs.shape, cfg.act_max) if rng.random() < 1 / 3 else
              rng.integers(1, cfg.act_max + 1, run.xs.shape))
    xs = run.xs * values
    lo, hi = cfg.out_shift_range
    p = run.params
    aged = reference.age(cfg, run.state.hebb, run.state.t_last, run.state.t, p.p_table)
    i = reference.current(cfg, *reference.integrate(xs[0], p.weight, aged), p.bias,
                          p.regs.alpha)
    fit = max(lo, min(hi, int(np.abs(i).max()).bit_length() - cfg.act_bits))
    out_shift = int(rng.choice([lo, hi, fit, fit]))
    kind = rng.integers(0, 3)
    modes = ([Mode.ANN] * steps if kind == 0 else [Mode.SNN] * steps if kind == 1 else
             [Mode(int(b)) for b in rng.integers(0, 2, steps)])
    state = replace(run.state, s=rng.integers(0, cfg.act_max + 1, cfg.neurons))
    return RandomRun(params=replace(p, regs=replace(p.regs, out_shift=out_shift)),
                     state=state, xs=xs, learn=run.learn, modes=modes)
