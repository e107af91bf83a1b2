"""Seeded stimulus for block-level tests, shared by the Amaranth and the cocotb benches.

Random values alone almost never hit a saturation limit, so the soma vectors put the
exhaustive cross product of each field's corner values first, then random values whose
magnitudes are spread log-uniformly over the field's width; the random cores
(`random_params`, the one generator of core parameters for every test and regression)
draw each field either spread or (one time in three) from its corners.
"""

from __future__ import annotations

import itertools

import numpy as np

from glocal.golden import fixed, reference
from glocal.golden.config import CoreConfig

__all__ = ["spread", "flavoured", "soma_vectors", "soma_expected", "random_registers",
           "random_params", "random_plastic", "random_state", "random_spikes"]


def spread(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """``n`` signed ``bits``-wide values with log-uniform magnitudes and random signs."""
    width = rng.integers(0, bits, n)
    mag = rng.integers(0, 1 << 62, n) >> (62 - width)
    val = np.where(rng.integers(0, 2, n) == 1, -mag - 1, mag)
    return np.clip(val, fixed.smin(bits), fixed.smax(bits)).astype(np.int64)


def flavoured(rng: np.random.Generator, shape: tuple[int, ...], bits: int,
              corners) -> np.ndarray:
    """``bits``-wide signed values: spread (`spread`), or one time in three from ``corners``."""
    n = int(np.prod(shape))
    if rng.random() < 1 / 3:
        return rng.choice(np.array(corners, np.int64), n).reshape(shape)
    return spread(rng, n, bits).reshape(shape)


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
    """Register values over their whole ranges, each limit drawn often.

    ``learn=None`` draws the LEARN register too.
    """
    lo, hi = cfg.vth_shift_range
    dmax = 1 << cfg.decay_frac
    smin, smax = fixed.smin(cfg.alpha_bits), fixed.smax(cfg.alpha_bits)
    h_max = int(rng.choice([0, 1, cfg.h_max_limit, rng.integers(0, cfg.h_max_limit + 1)]))
    return reference.Registers(
        vth_shift=int(rng.choice([lo, hi, rng.integers(lo, hi + 1)])),
        decay=int(rng.choice([0, dmax, rng.integers(0, dmax + 1)])),
        alpha=int(rng.choice([smin, smax, 0, spread(rng, 1, cfg.alpha_bits)[0]])),
        h_max=h_max,
        learn=bool(rng.integers(0, 2)) if learn is None else learn,
    )


def random_params(cfg: CoreConfig, rng: np.random.Generator, *,
                  learn: bool | None = None, w_decay: float | None = None) -> reference.CoreParams:
    """A random core: every array spread over its full width or drawn from its corners.

    Corners: weights, biases, learning rates and thresholds at their limits (and 0), a
    decay table of all ones or all zeros, registers at their limits. ``w_decay`` fixes
    the decay table to ``decay_table(cfg, w_decay)``; ``learn=None`` draws LEARN. With
    ``cfg.plastic_mask`` the enable bits are drawn last (so the other fields do not
    depend on it): all 1, all 0, or each 1 with a probability drawn in [0, 1].
    """
    a, n = cfg.axons, cfg.neurons
    smin, smax = fixed.smin, fixed.smax
    regs = random_registers(cfg, rng, learn=learn)
    size = 1 << cfg.ts_bits
    kind = None if w_decay is not None else rng.integers(0, 4)
    p_table = (reference.decay_table(cfg, w_decay) if kind is None else
               np.full(size, 1 << cfg.p_frac) if kind == 0 else
               np.zeros(size, np.int64) if kind == 1 else
               rng.integers(0, (1 << cfg.p_frac) + 1, size) if kind == 2 else
               reference.decay_table(cfg, float(rng.uniform(0.8, 1.0))))
    params = reference.CoreParams(
        weight=flavoured(rng, (a, n), cfg.w_bits, [smin(cfg.w_bits), smax(cfg.w_bits)]),
        bias=flavoured(rng, (n,), cfg.bias_bits,
                       [smin(cfg.bias_bits), smax(cfg.bias_bits), 0]),
        beta=flavoured(rng, (a,), cfg.beta_bits, [smin(cfg.beta_bits), smax(cfg.beta_bits)]),
        theta=flavoured(rng, (n,), cfg.theta_bits,
                        [smin(cfg.theta_bits), smax(cfg.theta_bits), 0]),
        p_table=p_table.astype(np.int64), regs=regs, plastic=random_plastic(cfg, rng))
    params.check(cfg)
    return params


def random_plastic(cfg: CoreConfig, rng: np.random.Generator) -> np.ndarray | None:
    """Per-synapse plasticity enables for a core with ``cfg.plastic_mask`` (else ``None``,
    drawing nothing): all 1 or all 0 one time in six each, else Bernoulli of a random rate."""
    if not cfg.plastic_mask:
        return None
    shape = (cfg.axons, cfg.neurons)
    kind = rng.integers(0, 6)
    if kind < 2:
        return np.full(shape, 1 - kind, np.int64)
    return (rng.random(shape) < rng.random()).astype(np.int64)


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
