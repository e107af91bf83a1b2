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
from glocal.golden.reference import CoreParams, CoreState, Registers
from glocal.sim.vectors import spread

__all__ = ["RandomRun", "random_run"]


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
    """

    params: CoreParams
    state: CoreState
    xs: np.ndarray
    learn: list[bool]

    def expected(self, cfg: CoreConfig) -> list[CoreState]:
        """Reference state after every step."""
        state, out = self.state, []
        for x, learn in zip(self.xs, self.learn, strict=True):
            p = replace(self.params, regs=replace(self.params.regs, learn=learn))
            state = reference.step(cfg, p, state, x)
            out.append(state)
        return out


def _field(rng, shape, bits, corners):
    """Random signed ``bits``-wide values, or (one time in three) values from ``corners``."""
    n = int(np.prod(shape))
    if rng.random() < 1 / 3:
        return rng.choice(np.array(corners, np.int64), n).reshape(shape)
    return spread(rng, n, bits).reshape(shape)


def random_run(cfg: CoreConfig, seed: int, steps: int) -> RandomRun:
    """A seeded random core with corner flavours, ``steps`` steps long."""
    rng = np.random.default_rng(seed)
    a, n = cfg.axons, cfg.neurons
    lo, hi = cfg.vth_shift_range
    smin, smax = fixed.smin, fixed.smax
    h_max = int(rng.choice([0, 1, cfg.h_max_limit, rng.integers(0, cfg.h_max_limit + 1)]))
    regs = Registers(
        vth_shift=int(rng.choice([lo, hi, rng.integers(lo, hi + 1)])),
        decay=int(rng.choice([0, 1 << cfg.decay_frac, rng.integers(0, (1 << cfg.decay_frac) + 1)])),
        alpha=int(rng.choice([smin(cfg.alpha_bits), smax(cfg.alpha_bits), 0,
                              spread(rng, 1, cfg.alpha_bits)[0]])),
        h_max=h_max, learn=True)
    pk = rng.integers(0, 4)
    p_table = (np.full(1 << cfg.ts_bits, 1 << cfg.p_frac) if pk == 0 else
               np.zeros(1 << cfg.ts_bits, np.int64) if pk == 1 else
               rng.integers(0, (1 << cfg.p_frac) + 1, 1 << cfg.ts_bits) if pk == 2 else
               reference.decay_table(cfg, float(rng.uniform(0.8, 1.0))))
    params = CoreParams(
        weight=_field(rng, (a, n), cfg.w_bits, [smin(cfg.w_bits), smax(cfg.w_bits)]),
        bias=_field(rng, (n,), cfg.bias_bits, [smin(cfg.bias_bits), smax(cfg.bias_bits), 0]),
        beta=_field(rng, (a,), cfg.beta_bits, [smin(cfg.beta_bits), smax(cfg.beta_bits)]),
        theta=_field(rng, (n,), cfg.theta_bits, [smin(cfg.theta_bits), smax(cfg.theta_bits), 0]),
        p_table=p_table.astype(np.int64), regs=regs)
    params.check(cfg)
    mask = (1 << cfg.ts_bits) - 1
    state = CoreState(
        u=_field(rng, (n,), cfg.u_bits, [smin(cfg.u_bits), smax(cfg.u_bits),
                                        (1 << regs.vth_shift) - 1, 1 << regs.vth_shift]),
        s=rng.integers(0, 2, n),
        hebb=_field(rng, (a, n), cfg.h_bits, [smin(cfg.h_bits), smax(cfg.h_bits), h_max, -h_max]),
        t_last=rng.integers(0, mask + 1, a), t=int(rng.integers(0, mask + 1)),
        refresh=int(rng.integers(0, a)))
    density = float(rng.choice([0.0, 0.02, 0.05, 0.2, 0.5, 0.9, 1.0]))
    xs = (rng.random((steps, a)) < density).astype(np.int64)
    mode = rng.integers(0, 4)
    learn = ([True] * steps if mode < 2 else [False] * steps if mode == 2 else
             [bool(b) for b in rng.integers(0, 2, steps)])
    return RandomRun(params=params, state=state, xs=xs, learn=learn)
