"""Integer reference model of one core: the bit-level specification of what the chip computes.

One time step is, in the order the hardware performs it (``docs/fixed-point.md``):

1. **age**      the Hebbian rows are read through the lazy decay ``H̃ = rnd(P[t−t_last]·H)``;
2. **integrate** ``accW = Σ x_i·W_i``, ``accH = Σ x_i·H̃_i``;
3. **current**  ``I = accW + bias + rnd(alpha·accH)``;
4. **reset**    ``v = u − s·V_th`` (soft reset of the previous step's spike);
5. **charge**   ``u = sat(rnd(decay·v) + I)``;
6. **fire**     ``s = u ≥ V_th``;
7. **learn**    ``H_i = clamp(H̃_i + x_i·rnd(beta_i·f(u))·E_i)`` on the active rows and on
   one refresh row, whose timestamps become ``t`` (``E``: the per-synapse plasticity
   enable of a core with ``cfg.plastic_mask``, else all ones).

A core in ANN mode (``Registers.mode = Mode.ANN``, hybrid coding) runs steps 1–3 and then
**activate** ``a = clamp(rnd(I, out_shift), 0, 2**act_bits − 1)`` (ReLU and requantisation)
instead of 4–7: ``u = sat(I)``, ``s = a``, no leak, no fire, no learning.

Every function is pure: integer numpy arrays in, new integer arrays out. State arrays may
carry any number of leading batch dimensions (a batch of samples stepping in lockstep);
parameters are shared by the batch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import numpy as np

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.golden.fixed import rshift_round, saturate

__all__ = [
    "Mode", "Registers", "CoreParams", "CoreState", "decay_table",
    "age", "integrate", "current", "reset", "charge", "fire", "post_trace", "learn",
    "activate", "ann_step", "step", "run",
]


class Mode(enum.IntEnum):
    """What a core's neurons are (the ``MODE`` register; hybrid coding).

    ``SNN``: leaky integrate-and-fire neurons with plasticity; outputs are spikes (1).
    ``ANN``: ReLU units; outputs are ``act_bits``-bit activations, H is frozen. Needs
    ``CoreConfig.act_bits > 1``.
    """

    SNN = 0
    ANN = 1


@dataclass(frozen=True)
class Registers:
    """The core's run-time scalar registers.

    Members
    -------
    vth_shift : int
        Threshold exponent: ``V_th = 2**vth_shift`` membrane units.
    decay : int
        Membrane leak factor with ``cfg.decay_frac`` fractional bits, ``0..2**decay_frac``.
    alpha : int
        Hebbian gain with ``cfg.alpha_frac`` fractional bits (signed).
    h_max : int
        Clamp bound of the Hebbian weights, ``0..2**(h_bits-1)-1``.
    learn : bool
        On-chip plasticity on. When off, ``H``, its timestamps and the plastic clock
        stand still: the Hebbian weights neither decay nor learn.
    mode : Mode
        ``SNN`` (default) or ``ANN`` (needs ``cfg.act_bits > 1``). In ANN mode ``learn``
        has no effect: nothing learns, and the clock stands still.
    out_shift : int
        ANN requantisation: ``a = clamp(rnd(I, out_shift), 0, 2**act_bits − 1)``,
        in ``cfg.out_shift_range``. Unused in SNN mode.
    """

    vth_shift: int
    decay: int
    alpha: int
    h_max: int
    learn: bool = True
    mode: Mode = Mode.SNN
    out_shift: int = 0

    def check(self, cfg: CoreConfig) -> None:
        lo, hi = cfg.vth_shift_range
        _check_range("vth_shift", self.vth_shift, lo, hi)
        if self.mode not in tuple(Mode):
            raise ValueError(f"register mode must be a Mode (SNN or ANN), not {self.mode!r}")
        if self.mode == Mode.ANN and cfg.act_bits == 1:
            raise ValueError("register mode ANN needs a core with act_bits > 1 (multi-bit "
                             "activations); this core has act_bits = 1")
        _check_range("out_shift", self.out_shift, *cfg.out_shift_range)
        _check_range("decay", self.decay, 0, 1 << cfg.decay_frac)
        _check_range("alpha", self.alpha, fixed.smin(cfg.alpha_bits), fixed.smax(cfg.alpha_bits))
        _check_range("h_max", self.h_max, 0, cfg.h_max_limit)


@dataclass(frozen=True)
class CoreParams:
    """Everything the host loads into a core besides its state.

    Members
    -------
    weight : ndarray, shape (axons, neurons)
        Global weights ``W`` (row ``i`` = the weights of axon ``i``), membrane units.
    bias : ndarray, shape (neurons,)
        Per-neuron bias, membrane units.
    beta : ndarray, shape (axons,)
        Per-axon Hebbian learning rate, ``cfg.beta_frac`` fractional bits.
    theta : ndarray, shape (neurons,)
        Per-neuron plasticity threshold ``eta·V_th``, membrane units.
    p_table : ndarray, shape (2**cfg.ts_bits,)
        Hebbian decay table, ``P[k] ≈ w_decay**k`` with ``cfg.p_frac`` fractional bits.
    regs : Registers
    plastic : ndarray, shape (axons, neurons), or None
        Per-synapse plasticity enable ``E``, 0 or 1, on a core with ``cfg.plastic_mask``
        (required there, ``None`` elsewhere). A disabled synapse takes no Hebbian
        increment but ages and is clamped like the others.
    """

    weight: np.ndarray
    bias: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    p_table: np.ndarray
    regs: Registers
    plastic: np.ndarray | None = None
    h0: np.ndarray | None = None

    def check(self, cfg: CoreConfig) -> None:
        """Raise `ValueError` naming the first member whose shape or range is wrong."""
        a, n = cfg.axons, cfg.neurons
        if self.h0 is not None:
            _check_array("h0", self.h0, (a, n), cfg.h_bits)
            worst = int(np.abs(self.h0).max()) if self.h0.size else 0
            if worst > self.regs.h_max:
                raise ValueError(f"h0 entries must be within ±h_max = ±{self.regs.h_max} "
                                 f"(the Hebbian clamp), found {worst}")
        _check_array("weight", self.weight, (a, n), cfg.w_bits)
        _check_array("bias", self.bias, (n,), cfg.bias_bits)
        _check_array("beta", self.beta, (a,), cfg.beta_bits)
        _check_array("theta", self.theta, (n,), cfg.theta_bits)
        _check_array("p_table", self.p_table, (1 << cfg.ts_bits,), cfg.p_bits + 1)
        if self.p_table.min() < 0 or self.p_table.max() > 1 << cfg.p_frac:
            raise ValueError(f"p_table entries must be in [0, {1 << cfg.p_frac}]")
        self.regs.check(cfg)
        if not cfg.plastic_mask:
            if self.plastic is not None:
                raise ValueError("plastic must be None on a core without plastic_mask "
                                 "(every synapse is plastic there)")
            return
        if self.plastic is None:
            raise ValueError(f"plastic must be a 0/1 array of shape {(a, n)} on a core with "
                             "plastic_mask, not None")
        plastic = np.asarray(self.plastic)
        if plastic.shape != (a, n):
            raise ValueError(f"plastic must have shape {(a, n)}, not {plastic.shape}")
        if not np.issubdtype(plastic.dtype, np.integer):
            raise ValueError(f"plastic must be an integer array, not {plastic.dtype}")
        bad = plastic[(plastic != 0) & (plastic != 1)]
        if bad.size:
            raise ValueError(f"plastic entries must be 0 or 1, not {bad[0]}")


@dataclass(frozen=True)
class CoreState:
    """The core's state between steps.

    Members
    -------
    u : ndarray, shape (..., neurons)
        Membrane potential after the last step (before its soft reset).
    s : ndarray, shape (..., neurons)
        Spikes of the last step, 0 or 1.
    hebb : ndarray, shape (..., axons, neurons)
        Stored Hebbian weights; their current value is ``age(...)`` of them.
    t_last : ndarray, shape (..., axons)
        Plastic-clock value at which each row of ``hebb`` was last written.
    t : int
        Plastic clock, ``cfg.ts_bits`` wide; advances once per step with learning on.
    refresh : int
        Row the next learning step refreshes, ``0..axons-1``.
    """

    u: np.ndarray
    s: np.ndarray
    hebb: np.ndarray
    t_last: np.ndarray
    t: int = 0
    refresh: int = 0

    @classmethod
    def zeros(cls, cfg: CoreConfig, batch: tuple[int, ...] = ()) -> CoreState:
        """The state after reset: membranes, spikes, Hebbian weights and clocks at zero."""
        z = np.zeros
        return cls(u=z(batch + (cfg.neurons,), np.int64), s=z(batch + (cfg.neurons,), np.int64),
                   hebb=z(batch + (cfg.axons, cfg.neurons), np.int64),
                   t_last=z(batch + (cfg.axons,), np.int64))


def decay_table(cfg: CoreConfig, w_decay: float) -> np.ndarray:
    """``P[k] = round_half_up(w_decay**k · 2**p_frac)`` for ``k = 0 .. 2**ts_bits − 1``."""
    if not 0.0 <= w_decay <= 1.0:
        raise ValueError(f"w_decay must be in [0, 1], not {w_decay!r}")
    k = np.arange(1 << cfg.ts_bits, dtype=np.float64)
    return np.floor(w_decay ** k * (1 << cfg.p_frac) + 0.5).astype(np.int64)


# -- the step, phase by phase ---------------------------------------------------------

def age(cfg: CoreConfig, hebb, t_last, t: int, p_table):
    """Current value of each Hebbian weight: ``H̃ = rnd(P[(t − t_last) mod 2**ts_bits]·H)``."""
    k = (t - np.asarray(t_last)) & ((1 << cfg.ts_bits) - 1)
    return rshift_round(p_table[k][..., None] * hebb, cfg.p_frac)


def integrate(x, weight, hebb_aged):
    """Dendritic sums of the active axons: ``(accW, accH)``, each shape (..., neurons)."""
    acc_w = np.einsum("...a,an->...n", x, weight)
    acc_h = np.einsum("...a,...an->...n", x, hebb_aged)
    return acc_w, acc_h


def current(cfg: CoreConfig, acc_w, acc_h, bias, alpha: int):
    """Input current ``I = accW + bias + rnd(alpha·accH)``; fits ``cfg.i_bits`` (no saturation)."""
    return acc_w + bias + rshift_round(alpha * acc_h, cfg.alpha_frac)


def reset(u, s, vth_shift: int):
    """Soft reset of the previous step's spikes: ``v = u − (s ≠ 0)·2**vth_shift``.

    ``s`` is 0/1 after an SNN step; a nonzero activation left by an ANN step (or loaded by
    the host) counts as a spike.
    """
    return u - ((np.asarray(s) != 0).astype(np.int64) << vth_shift)


def charge(cfg: CoreConfig, v, i, decay: int):
    """Leak and integrate: ``u = sat(rnd(decay·v) + I)`` to ``cfg.u_bits``."""
    return saturate(rshift_round(decay * v, cfg.decay_frac) + i, cfg.u_bits)


def fire(u, vth_shift: int):
    """Spikes: 1 where ``u ≥ 2**vth_shift``."""
    return (u >= (1 << vth_shift)).astype(np.int64)


def post_trace(u, theta, vth_shift: int):
    """Post-synaptic term ``f(u/V_th − eta)`` through the 256-entry table.

    Index ``= clamp(floor((u − theta) / 2**(vth_shift − F_IN_FRAC)), −128, 127)``.
    """
    half = fixed.F_SIZE // 2
    idx = np.clip((u - theta) >> (vth_shift - fixed.F_IN_FRAC), -half, half - 1)
    return fixed.F_TABLE[idx + half]


def learn(cfg: CoreConfig, x, hebb, hebb_aged, t_last, t: int, refresh: int,
          beta, f, h_max: int, plastic=None):
    """Hebbian update of the active rows and the refresh row: ``(hebb, t_last)``.

    Touched rows (``x_i ≠ 0`` or ``i = refresh``) become
    ``clamp(H̃_i + x_i·rnd(beta_i·f)·E_i, −h_max, h_max)`` and get timestamp ``t``; the
    others keep their stored value and timestamp. ``plastic`` is the per-synapse enable
    ``E`` (axons, neurons), 0/1; ``None``: every synapse is plastic.
    """
    touched = (x != 0) | (np.arange(cfg.axons) == refresh)
    delta = rshift_round(beta[:, None] * f[..., None, :], cfg.learn_shift) * x[..., :, None]
    if plastic is not None:
        delta = delta * plastic
    new = np.clip(hebb_aged + delta, -h_max, h_max)
    return (np.where(touched[..., None], new, hebb),
            np.where(touched, t, t_last))


def activate(cfg: CoreConfig, i, out_shift: int):
    """ANN output (ReLU and requantisation): ``a = clamp(rnd(I, out_shift), 0, act_max)``."""
    return np.clip(rshift_round(np.asarray(i), out_shift), 0, cfg.act_max)


def ann_step(cfg: CoreConfig, core: CoreParams, state: CoreState, x) -> CoreState:
    """One step of a core in ANN mode: integrate, current, activate.

    ``H̃`` is read at the clock's present value (which does not advance); the membrane
    shows the saturated current ``u = sat(I)``, the spikes the activations ``s = a``.
    """
    r = core.regs
    aged = age(cfg, state.hebb, state.t_last, state.t, core.p_table)
    acc_w, acc_h = integrate(x, core.weight, aged)
    i = current(cfg, acc_w, acc_h, core.bias, r.alpha)
    return replace(state, u=saturate(i, cfg.u_bits), s=activate(cfg, i, r.out_shift))


def step(cfg: CoreConfig, core: CoreParams, state: CoreState, x) -> CoreState:
    """One time step of the core for inputs ``x`` (shape (..., axons)).

    Inputs are spikes (0/1) or, with ``cfg.act_bits > 1``, activations
    ``0 .. cfg.act_max``; an SNN core weighs them like an ANN core does (``Σ x_i·W_i``).
    """
    x = np.asarray(x, dtype=np.int64)
    if x.size and (x.min() < 0 or x.max() > cfg.act_max):
        raise ValueError(f"inputs must be in [0, {cfg.act_max}] (act_bits = {cfg.act_bits}), "
                         f"found values in [{x.min()}, {x.max()}]")
    r = core.regs
    if r.mode == Mode.ANN:
        return ann_step(cfg, core, state, x)
    t = (state.t + 1) & ((1 << cfg.ts_bits) - 1) if r.learn else state.t
    aged = age(cfg, state.hebb, state.t_last, t, core.p_table)
    acc_w, acc_h = integrate(x, core.weight, aged)
    i = current(cfg, acc_w, acc_h, core.bias, r.alpha)
    u = charge(cfg, reset(state.u, state.s, r.vth_shift), i, r.decay)
    s = fire(u, r.vth_shift)
    if not r.learn:
        return replace(state, u=u, s=s)
    f = post_trace(u, core.theta, r.vth_shift)
    hebb, t_last = learn(cfg, x, state.hebb, aged, state.t_last, t, state.refresh,
                         core.beta, f, r.h_max, core.plastic)
    return CoreState(u=u, s=s, hebb=hebb, t_last=t_last, t=t,
                     refresh=(state.refresh + 1) % cfg.axons)


def run(cfg: CoreConfig, core: CoreParams, state: CoreState,
        xs) -> tuple[CoreState, list[CoreState]]:
    """Step through ``xs`` (shape (steps, ..., axons)); returns the final state and every state."""
    trace = []
    for x in xs:
        state = step(cfg, core, state, x)
        trace.append(state)
    return state, trace


# -- validation helpers -----------------------------------------------------------------

def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"register {name} must be an integer in [{lo}, {hi}], not {value!r}")


def _check_array(name: str, arr, shape: tuple[int, ...], bits: int) -> None:
    arr = np.asarray(arr)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array, not {arr.dtype}")
    fixed.check_signed(name, arr, bits)
