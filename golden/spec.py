"""What a network is, apart from its trained values: variants, score, precision, NetSpec.

:mod:`glocal.golden.model` builds the PyTorch network from a :class:`NetSpec` (and
re-exports everything here).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from glocal.golden.config import CoreConfig
from glocal.golden.encode import Encoding

__all__ = ["Variant", "Score", "Precision", "NetSpec"]


class Variant(enum.Enum):
    """Which plasticity a network has (paper: GP, LP and HP models)."""

    #: Global plasticity only: surrogate-gradient SNN, no Hebbian term.
    GP = "gp"
    #: Local plasticity: hidden weights frozen at their random init, Hebbian term on;
    #: only the readout and the meta-parameters are trained.
    LP = "lp"
    #: Hybrid: trained weights plus the meta-learned Hebbian term.
    HP = "hp"


class Score(enum.Enum):
    """What the last layer is and what its score is (:attr:`NetSpec.readout`)."""

    #: Non-spiking integrator: the summed current of every step (no leak, no plasticity).
    INTEGRATE = "integrate"
    #: A spiking layer like the hidden ones (leak, soft reset, Hebbian term for LP and HP);
    #: the score is its final membrane over the threshold (the authors' network).
    MEMBRANE = "membrane"


class Precision(enum.Enum):
    """Arithmetic of the forward pass."""

    FLOAT = "float"
    QAT = "qat"


@dataclass(frozen=True)
class NetSpec:
    """Shape and constants of a network; everything that is not trained.

    Members
    -------
    sizes : tuple of int
        Inputs, hidden layer widths..., classes. Each layer must fit one core.
    variant : Variant
    steps : int
        Time steps per sample, ``T``.
    vth : float
        Firing threshold of the spiking layers, paper units.
    vth_shift : int
        Threshold exponent on chip: ``V_th = 2**vth_shift`` membrane units.
    decay : float
        Membrane leak factor of the spiking layers.
    w_decay : float
        Hebbian forgetting factor per plastic step (fixed, not meta-learned).
    h_max : float
        Clamp bound of the Hebbian trace.
    alpha0, beta0, eta0 : float
        Initial meta-parameters (per layer, per input, per neuron).
    w_gain : float
        Hidden weights start uniform in ``±w_gain/sqrt(fan_in)``.
    cfg : CoreConfig
    readout : Score
        ``INTEGRATE``: a non-spiking, non-plastic integrator whose summed current is the
        score. ``MEMBRANE`` (the authors' fault-tolerance network): the last layer is one
        more spiking layer, plastic like the hidden ones, and its final membrane over the
        threshold is the score.
    in_levels : int
        What an input value of 1 means: the first layer takes integers ``0 .. in_levels``
        that stand for ``x / in_levels`` (1: spikes; ``cfg.act_max``: an analog input
        quantized to the core's activation width). The first layer's ``W``, ``alpha`` and
        ``beta`` codes absorb the ``1/in_levels``.
    encoding : Encoding
        How :meth:`Net.encode` turns intensities into the first layer's input.
    tau : float
        ``Encoding.ANALOG``: time constant of the input's ``exp(−t/τ)`` factor, steps.
    meta_init : str
        ``"const"``: ``alpha``, ``beta``, ``eta`` start at ``alpha0``, ``beta0``, ``eta0``;
        ``"uniform"``: each entry uniform in ``[0, alpha0)`` etc. (the authors' init).
    """

    sizes: tuple[int, ...] = (64, 128, 10)
    variant: Variant = Variant.HP
    steps: int = 8
    vth: float = 0.5
    vth_shift: int = 7
    decay: float = 0.5
    w_decay: float = 0.95
    h_max: float = 4.0
    alpha0: float = 0.1
    beta0: float = 0.2
    eta0: float = 0.0
    w_gain: float = 1.0
    cfg: CoreConfig = field(default_factory=CoreConfig)
    readout: Score = Score.INTEGRATE
    in_levels: int = 1
    meta_init: str = "const"
    encoding: Encoding = Encoding.RATE
    tau: float = 40.0

    def __post_init__(self) -> None:
        if len(self.sizes) < 3:
            raise ValueError(f"sizes needs inputs, at least one hidden layer and classes, "
                             f"not {self.sizes!r}")
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            if n_in > self.cfg.axons or n_out > self.cfg.neurons:
                raise ValueError(f"a {n_in}→{n_out} layer does not fit a core of "
                                 f"{self.cfg.axons} axons × {self.cfg.neurons} neurons")
        lo, hi = self.cfg.vth_shift_range
        if not lo <= self.vth_shift <= hi:
            raise ValueError(f"vth_shift must be in [{lo}, {hi}], not {self.vth_shift}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, not {self.steps}")
        if self.meta_init not in ("const", "uniform"):
            raise ValueError(f"meta_init must be 'const' or 'uniform', not {self.meta_init!r}")
        if self.in_levels != 1 and self.encoding is not Encoding.ANALOG:
            raise ValueError(f"in_levels > 1 needs the analog encoding; {self.encoding.value} "
                             f"inputs are spikes (in_levels 1), not {self.in_levels}")
        if not 1 <= self.in_levels <= self.cfg.act_max:
            raise ValueError(f"in_levels must be in [1, {self.cfg.act_max}] (act_bits = "
                             f"{self.cfg.act_bits}), not {self.in_levels}")
