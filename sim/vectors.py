"""Seeded stimulus for block-level tests, shared by the Amaranth and the cocotb benches.

Random values alone almost never hit a saturation limit, so every generator puts the
exhaustive cross product of each field's corner values first, then random values whose
magnitudes are spread log-uniformly over the field's width.
"""

from __future__ import annotations

import itertools

import numpy as np

from glocal.golden import fixed, reference
from glocal.golden.config import CoreConfig

__all__ = ["spread", "soma_vectors", "soma_expected"]


def spread(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """``n`` signed ``bits``-wide values with log-uniform magnitudes and random signs."""
    width = rng.integers(0, bits, n)
    mag = rng.integers(0, 1 << 62, n) >> (62 - width)
    val = np.where(rng.integers(0, 2, n) == 1, -mag - 1, mag)
    return np.clip(val, fixed.smin(bits), fixed.smax(bits)).astype(np.int64)


def soma_vectors(cfg: CoreConfig, n: int, seed: int) -> dict[str, np.ndarray]:
    """Soma inputs: every corner combination first, then random vectors up to ``n`` in all."""
    lo, hi = cfg.vth_shift_range
    dmax = 1 << cfg.decay_frac
    corners = list(itertools.product(
        [fixed.smin(cfg.i_bits), -1, 0, 1, fixed.smax(cfg.i_bits)],
        [fixed.smin(cfg.u_bits), -1, 0, (1 << lo) - 1, 1 << lo, fixed.smax(cfg.u_bits)],
        [0, 1],
        [0, 1, dmax - 1, dmax],
        [lo, hi],
    ))
    rng = np.random.default_rng(seed)
    m = max(0, n - len(corners))
    rand = {
        "current": spread(rng, m, cfg.i_bits),
        "u": spread(rng, m, cfg.u_bits),
        "s": rng.integers(0, 2, m),
        "decay": rng.integers(0, dmax + 1, m),
        "vth_shift": rng.integers(lo, hi + 1, m),
    }
    names = ["current", "u", "s", "decay", "vth_shift"]
    cols = np.array(corners, dtype=np.int64).T
    return {k: np.concatenate([cols[j], rand[k]]).astype(np.int64) for j, k in enumerate(names)}


def soma_expected(cfg: CoreConfig, vec: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the reference model says the soma outputs for ``vec``."""
    v = reference.reset(vec["u"], vec["s"], vec["vth_shift"])
    u = reference.charge(cfg, v, vec["current"], vec["decay"])
    return {"u": u, "s": reference.fire(u, vec["vth_shift"])}


def random_registers(cfg: CoreConfig, rng: np.random.Generator, *,
                     learn: bool | None = None) -> reference.Registers:
    """Register values drawn over their whole ranges, limits included."""
    lo, hi = cfg.vth_shift_range
    dmax = 1 << cfg.decay_frac
    return reference.Registers(
        vth_shift=int(rng.integers(lo, hi + 1)),
        decay=int(rng.choice([0, dmax, int(rng.integers(0, dmax + 1))])),
        alpha=int(spread(rng, 1, cfg.alpha_bits)[0]),
        h_max=int(rng.choice([0, cfg.h_max_limit, int(rng.integers(0, cfg.h_max_limit + 1))])),
        learn=bool(rng.integers(0, 2)) if learn is None else learn,
    )


def random_params(cfg: CoreConfig, rng: np.random.Generator, *,
                  learn: bool | None = None, w_decay: float | None = None) -> reference.CoreParams:
    """A core with every array spread over its full width (so saturation corners occur)."""
    a, n = cfg.axons, cfg.neurons
    wd = float(rng.uniform(0.5, 1.0)) if w_decay is None else w_decay
    return reference.CoreParams(
        weight=spread(rng, a * n, cfg.w_bits).reshape(a, n),
        bias=spread(rng, n, cfg.bias_bits),
        beta=spread(rng, a, cfg.beta_bits),
        theta=spread(rng, n, cfg.theta_bits),
        p_table=reference.decay_table(cfg, wd),
        regs=random_registers(cfg, rng, learn=learn),
    )


def random_state(cfg: CoreConfig, rng: np.random.Generator, regs: reference.Registers,
                 batch: tuple[int, ...] = ()) -> reference.CoreState:
    """A reachable-looking state: |H| ≤ h_max, timestamps within ``axons`` of the clock."""
    a, n = cfg.axons, cfg.neurons
    t = int(rng.integers(0, 1 << cfg.ts_bits))
    age = rng.integers(0, a, batch + (a,))
    return reference.CoreState(
        u=spread(rng, int(np.prod(batch + (n,))), cfg.u_bits).reshape(batch + (n,)),
        s=rng.integers(0, 2, batch + (n,)),
        hebb=rng.integers(-regs.h_max, regs.h_max + 1, batch + (a, n)),
        t_last=(t - age) & ((1 << cfg.ts_bits) - 1),
        t=t, refresh=int(rng.integers(0, a)),
    )


def random_spikes(cfg: CoreConfig, rng: np.random.Generator, rate: float,
                  shape: tuple[int, ...] = ()) -> np.ndarray:
    """Bernoulli input spikes with probability ``rate`` per axon."""
    return (rng.random(shape + (cfg.axons,)) < rate).astype(np.int64)
