"""Every float → integer mapping of the project, for QAT and for the image compiler alike.

The float model works in *membrane units*: a layer's float quantities are divided by its
scale ``V_th / 2**vth_shift`` so that its threshold is exactly ``2**vth_shift``. Each
function here takes a float tensor in paper units and returns it in the integer encoding
of :mod:`glocal.golden.reference`. With ``exact=True`` (quantization-aware training and
export) the result is rounded half-up and saturated, and its gradient passes straight
through the rounding; with ``exact=False`` (the plain float model) it is the same
quantity without rounding, so the two modes share one code path.

:func:`to_int` turns a quantized tensor into the ``int64`` array the reference model and
the model file hold; it refuses anything that is not integer-valued.
"""

from __future__ import annotations

import numpy as np
import torch

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.golden.reference import decay_table

__all__ = [
    "round_half_up", "rshift", "saturate", "hidden_scale", "readout_scale",
    "weight", "bias", "alpha", "beta", "theta", "decay", "h_max", "hebb", "p_table",
    "to_int",
]


def round_half_up(x: torch.Tensor) -> torch.Tensor:
    """``floor(x + 1/2)`` with a straight-through gradient: the chip's only rounding."""
    return x + (torch.floor(x + 0.5) - x).detach()


def rshift(x: torch.Tensor, shift: int, exact: bool) -> torch.Tensor:
    """:func:`glocal.golden.fixed.rshift_round` on integer-valued tensors (or ``x/2**shift``)."""
    y = x / (1 << shift)
    return round_half_up(y) if exact and shift else y


def saturate(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Clamp to a signed ``bits``-wide integer (gradient zero where it clamps)."""
    return torch.clamp(x, fixed.smin(bits), fixed.smax(bits))


def _quantize(x: torch.Tensor, bits: int, exact: bool) -> torch.Tensor:
    return saturate(round_half_up(x), bits) if exact else x


def hidden_scale(vth: float, vth_shift: int) -> float:
    """Float value of one membrane unit of a spiking layer: ``V_th / 2**vth_shift``."""
    if vth <= 0:
        raise ValueError(f"V_th must be positive, not {vth!r}")
    return vth / (1 << vth_shift)


def readout_scale(w: torch.Tensor, cfg: CoreConfig) -> torch.Tensor:
    """Scale of the non-spiking readout: its largest weight maps to the largest code.

    The readout has no threshold to tie its units to, so its scale follows its weights
    (detached: the scale is a choice of units, not a trained quantity).
    """
    return (w.detach().abs().max() / fixed.smax(cfg.w_bits)).clamp_min(1e-8)


def weight(w: torch.Tensor, scale, cfg: CoreConfig, exact: bool) -> torch.Tensor:
    """Global weights in membrane units, ``cfg.w_bits`` wide."""
    return _quantize(w / scale, cfg.w_bits, exact)


def bias(b: torch.Tensor, scale, cfg: CoreConfig, exact: bool) -> torch.Tensor:
    """Per-neuron bias in membrane units, ``cfg.bias_bits`` wide."""
    return _quantize(b / scale, cfg.bias_bits, exact)


def alpha(a: torch.Tensor, scale, cfg: CoreConfig, exact: bool) -> torch.Tensor:
    """Hebbian gain register: ``I_hebb = rnd(alpha·accH >> alpha_frac)`` in membrane units.

    ``accH`` counts ``2**-h_frac`` units of a dimensionless ``H``, so the paper's
    ``alpha·Σ x·H`` (float units) becomes ``alpha · 2**(alpha_frac − h_frac) / scale``.
    """
    return _quantize(a * (1 << cfg.alpha_frac) / ((1 << cfg.h_frac) * scale), cfg.alpha_bits,
                     exact)


def beta(b: torch.Tensor, cfg: CoreConfig, exact: bool) -> torch.Tensor:
    """Per-axon Hebbian rate with ``cfg.beta_frac`` fractional bits."""
    return _quantize(b * (1 << cfg.beta_frac), cfg.beta_bits, exact)


def theta(eta: torch.Tensor, vth_shift: int, cfg: CoreConfig, exact: bool) -> torch.Tensor:
    """Plasticity threshold ``eta·V_th`` in membrane units, ``cfg.theta_bits`` wide."""
    return _quantize(eta * (1 << vth_shift), cfg.theta_bits, exact)


def decay(d: float, cfg: CoreConfig) -> int:
    """Membrane leak register: ``round(d · 2**decay_frac)`` in ``[0, 2**decay_frac]``."""
    if not 0.0 <= d <= 1.0:
        raise ValueError(f"membrane decay must be in [0, 1], not {d!r}")
    return int(np.floor(d * (1 << cfg.decay_frac) + 0.5))


def h_max(h: float, cfg: CoreConfig) -> int:
    """Hebbian clamp bound in ``2**-h_frac`` units, at most ``cfg.h_max_limit``."""
    if h < 0:
        raise ValueError(f"h_max must be non-negative, not {h!r}")
    return min(int(np.floor(h * (1 << cfg.h_frac) + 0.5)), cfg.h_max_limit)


def hebb(h: torch.Tensor, h_max_code: int, cfg: CoreConfig, exact: bool) -> torch.Tensor:
    """A Hebbian trace (paper units) in ``2**-h_frac`` units, clamped to ``±h_max_code``.

    Used for a layer's initial trace ``h0``; ``exact``: rounded half-up first.
    """
    x = h * (1 << cfg.h_frac)
    return torch.clamp(round_half_up(x) if exact else x, -h_max_code, h_max_code)


def p_table(cfg: CoreConfig, w_decay: float, exact: bool) -> torch.Tensor:
    """Hebbian decay table ``P[k] ≈ w_decay**k · 2**p_frac`` as a float64 tensor.

    Exact: the reference's own :func:`~glocal.golden.reference.decay_table`; float: the
    unrounded powers, so that the lazy decay equals ``w_decay`` per step exactly.
    """
    if exact:
        return torch.from_numpy(decay_table(cfg, w_decay).astype(np.float64))
    k = torch.arange(1 << cfg.ts_bits, dtype=torch.float64)
    return w_decay ** k * (1 << cfg.p_frac)


def to_int(x: torch.Tensor, name: str) -> np.ndarray:
    """An integer-valued tensor as ``int64``; `ValueError` naming it if it is not integral."""
    a = x.detach().to(torch.float64).cpu().numpy()
    r = np.rint(a)
    if not np.array_equal(a, r):
        bad = a[a != r].ravel()[0]
        raise ValueError(f"{name} must be integer-valued after quantization, found {bad!r}")
    return r.astype(np.int64)
