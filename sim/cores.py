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
from glocal.golden.reference import CoreParams, CoreState
from glocal.sim.vectors import flavoured, random_params

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
