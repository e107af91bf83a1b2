"""The core's geometry and number formats: one frozen dataclass, imported by every layer.

`CoreConfig` is fixed at synthesis time (it sizes memories and datapaths). What can change
at run time (threshold shift, leak factor, alpha, learning on/off, ...) are registers, see
:mod:`glocal.golden.reference`. The arithmetic these widths describe is specified in
``docs/fixed-point.md`` and executed by :mod:`glocal.golden.reference`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from glocal.golden import fixed

__all__ = ["CoreConfig", "ConfigError"]


class ConfigError(ValueError):
    """A `CoreConfig` field is outside its allowed range; the message names the field."""


# (minimum, maximum) of each integer field. Upper limits come from the hardware: 1024
# axons/neurons keeps every address under 10 bits; lanes above 16 exceed any block RAM
# width we target; 32 bits is the widest datapath we synthesise.
_LIMITS: dict[str, tuple[int, int]] = {
    "axons": (1, 1024),
    "neurons": (1, 1024),
    "lanes": (1, 16),
    "w_bits": (2, 16),
    "h_bits": (2, 16),
    "h_frac": (0, 15),
    "bias_bits": (2, 32),
    "u_bits": (8, 32),
    "acc_bits": (4, 32),
    "alpha_bits": (2, 24),
    "alpha_frac": (0, 23),
    "beta_bits": (2, 16),
    "beta_frac": (0, 15),
    "theta_bits": (2, 32),
    "decay_frac": (1, 16),
    "p_frac": (1, 16),
    "act_bits": (1, 8),
    "plastic_mask": (0, 1),
}


@dataclass(frozen=True)
class CoreConfig:
    """Geometry and fixed-point formats of one neuromorphic core.

    Every signed quantity is two's complement with the given total width; ``*_frac`` is
    the number of fractional bits of a quantity's integer encoding.

    Parameters
    ----------
    axons : int
        Input lines (presynaptic neurons), rows of ``W`` and ``H``.
    neurons : int
        Output neurons, columns of ``W`` and ``H``.
    lanes : int
        Neurons processed per clock cycle by the dendrite, soma and plasticity engine.
        A power of two that divides ``neurons``.
    w_bits : int
        Width of a global (GP) weight ``W``, in membrane units.
    h_bits, h_frac : int
        Width and fractional bits of a local (Hebbian) weight ``H``.
    bias_bits : int
        Width of the per-neuron bias, in membrane units.
    u_bits : int
        Width of the membrane potential; the membrane saturates at its limits.
    acc_bits : int
        Width of each dendritic accumulator (one for ``W·x``, one for ``H̃ᵀ·x``). Must hold
        the sum of ``axons`` weights without overflow.
    alpha_bits, alpha_frac : int
        Width and fractional bits of the per-core Hebbian gain ``alpha``.
    beta_bits, beta_frac : int
        Width and fractional bits of the per-axon learning rate ``beta``.
    theta_bits : int
        Width of the per-neuron plasticity threshold ``theta = eta·V_th``, membrane units.
    decay_frac : int
        Fractional bits of the membrane leak factor (the factor itself is unsigned,
        ``0 ≤ decay ≤ 2**decay_frac``).
    p_frac : int
        Fractional bits of the Hebbian decay table ``P[k] ≈ w_decay**k``.
    act_bits : int
        Width of an axon's input value and of a neuron's output value (hybrid coding). 1
        (the default) is the spike-only core: inputs and outputs are spikes, no
        multiplier in the datapath. Above 1, an axon holds an unsigned activation
        ``0 .. 2**act_bits − 1`` (a spike is 1), the dendrite multiplies, packets carry the
        value, and the core can run in ANN mode (``docs/fixed-point.md`` §3a).
    plastic_mask : int
        1: every synapse has a plasticity-enable bit (``CoreParams.plastic``, region
        ``PLASTIC``, one more bit of block RAM per synapse); only enabled synapses take
        the Hebbian increment. 0 (default): every synapse is plastic, and the core has no
        such memory.

    Raises
    ------
    ConfigError
        If a field is outside its range or the widths are inconsistent (for example an
        accumulator too narrow for ``axons`` weights).
    """

    axons: int = 256
    neurons: int = 256
    lanes: int = 8
    w_bits: int = 8
    h_bits: int = 8
    h_frac: int = 5
    bias_bits: int = 16
    u_bits: int = 16
    acc_bits: int = 20
    alpha_bits: int = 16
    alpha_frac: int = 8
    beta_bits: int = 8
    beta_frac: int = 7
    theta_bits: int = 16
    decay_frac: int = 8
    p_frac: int = 15
    act_bits: int = 1
    plastic_mask: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi = _LIMITS[f.name]
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"CoreConfig.{f.name} must be an integer, not {value!r}")
            if not lo <= value <= hi:
                raise ConfigError(
                    f"CoreConfig.{f.name} must be in [{lo}, {hi}], not {value}")
        if self.lanes & (self.lanes - 1):
            raise ConfigError(
                f"CoreConfig.lanes must be a power of two (1, 2, 4, 8 or 16), not {self.lanes}")
        if self.neurons % self.lanes:
            raise ConfigError(
                f"CoreConfig.neurons ({self.neurons}) must be a multiple of "
                f"lanes ({self.lanes})")
        need = self.product_bits + (self.axons - 1).bit_length()
        if self.acc_bits < need:
            what = (f"weights of {max(self.w_bits, self.h_bits)} bits" if self.act_bits == 1
                    else f"products of {max(self.w_bits, self.h_bits)}-bit weights and "
                         f"{self.act_bits}-bit activations (act_bits)")
            raise ConfigError(
                f"CoreConfig.acc_bits must be at least {need} to sum {self.axons} {what} "
                f"without overflow, not {self.acc_bits}")
        if self.h_frac >= self.h_bits:
            raise ConfigError(
                f"CoreConfig.h_frac must be below h_bits ({self.h_bits}), not {self.h_frac}")
        if self.alpha_frac >= self.alpha_bits:
            raise ConfigError(
                f"CoreConfig.alpha_frac must be below alpha_bits ({self.alpha_bits}), "
                f"not {self.alpha_frac}")
        if self.learn_shift < 0:
            raise ConfigError(
                f"CoreConfig.h_frac ({self.h_frac}) must not exceed beta_frac + "
                f"{fixed.F_FRAC} ({self.beta_frac + fixed.F_FRAC}): the Hebbian increment "
                f"beta·f is rounded down to H's precision, never scaled up")
        if self.theta_bits > self.u_bits:
            raise ConfigError(
                f"CoreConfig.theta_bits must not exceed u_bits ({self.u_bits}), "
                f"not {self.theta_bits}")
        if self.i_bits > 40:
            raise ConfigError(
                f"the input current needs {self.i_bits} bits with these widths; reduce "
                f"acc_bits, bias_bits or alpha_bits so that it needs at most 40")

    # -- derived widths (the single place they are computed) --------------------------

    @property
    def groups(self) -> int:
        """Lane groups per row: ``neurons // lanes``."""
        return self.neurons // self.lanes

    @property
    def act_max(self) -> int:
        """Largest axon input / neuron output value, ``2**act_bits − 1`` (1: a spike)."""
        return (1 << self.act_bits) - 1

    @property
    def product_bits(self) -> int:
        """Signed width of one synaptic term ``x·W`` or ``x·H̃`` (``x`` unsigned act_bits).

        With spikes (``act_bits = 1``) a term is the weight itself; otherwise
        ``|w·x| ≤ 2**(w_bits−1)·(2**act_bits − 1)`` needs ``act_bits`` more bits.
        """
        weight = max(self.w_bits, self.h_bits)
        return weight if self.act_bits == 1 else weight + self.act_bits

    @property
    def out_shift_range(self) -> tuple[int, int]:
        """Allowed ANN requantisation shifts: ``a = clamp(rnd(I, out_shift), 0, act_max)``."""
        return 0, self.i_bits - 1

    @property
    def ts_bits(self) -> int:
        """Width of the plastic step counter and of the per-row timestamps.

        The round-robin refresh bounds the age of a row to ``axons`` steps, so the counter
        must hold ``0..axons`` without wrapping onto a valid age.
        """
        return self.axons.bit_length()

    @property
    def p_bits(self) -> int:
        """Width of an (unsigned) entry of the Hebbian decay table; ``P[0] = 2**p_frac``."""
        return self.p_frac + 1

    @property
    def decay_bits(self) -> int:
        """Width of the (unsigned) membrane leak factor register."""
        return self.decay_frac + 1

    @property
    def learn_shift(self) -> int:
        """Right shift applied to ``beta·f`` to bring it to H's fractional bits."""
        return self.beta_frac + fixed.F_FRAC - self.h_frac

    @property
    def i_bits(self) -> int:
        """Width that holds any input current ``accW + bias + rnd(alpha·accH)``."""
        hebb = self.acc_bits + self.alpha_bits - self.alpha_frac
        return max(self.acc_bits, self.bias_bits, hebb) + 2

    @property
    def vth_shift_range(self) -> tuple[int, int]:
        """Allowed threshold exponents: ``V_th = 2**vth_shift`` membrane units."""
        return fixed.F_IN_FRAC, self.u_bits - 2

    @property
    def h_max_limit(self) -> int:
        """Largest clamp bound a Hebbian weight can be given."""
        return (1 << (self.h_bits - 1)) - 1
