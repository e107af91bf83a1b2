"""Fixed-point primitives shared by the integer reference, the QAT model and the RTL.

Three operations make up all of the chip's arithmetic besides addition: rounding right
shift, saturation to a signed width, and the post-synaptic function table. Each is defined
here once; ``docs/fixed-point.md`` states them in words. The functions accept Python ints
and numpy integer arrays alike (numpy arrays should be ``int64``: every intermediate of
the chip fits in 48 bits).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "F_BITS", "F_FRAC", "F_IN_FRAC", "F_TABLE", "f_table",
    "smin", "smax", "saturate", "rshift_round", "check_signed",
]

#: Width of the post-synaptic term ``f`` (signed).
F_BITS = 8
#: Fractional bits of ``f``: ``f_int = round(128·tanh(z))``, clamped to ±127.
F_FRAC = 7
#: Fractional bits of the table index: index = ``floor(z·32)`` with ``z = (u − θ)/V_th``.
F_IN_FRAC = 5
#: Entries of the table; the index is clamped to ``[-F_SIZE/2, F_SIZE/2 - 1]``.
F_SIZE = 256


def smin(bits: int) -> int:
    """Most negative value of a signed ``bits``-wide integer."""
    return -(1 << (bits - 1))


def smax(bits: int) -> int:
    """Most positive value of a signed ``bits``-wide integer."""
    return (1 << (bits - 1)) - 1


def saturate(x, bits: int):
    """Clamp ``x`` to the range of a signed ``bits``-wide integer."""
    return np.clip(x, smin(bits), smax(bits)) if isinstance(x, np.ndarray) else \
        min(max(x, smin(bits)), smax(bits))


def rshift_round(x, shift: int):
    """Round-half-up right shift: ``floor(x / 2**shift + 1/2)``.

    This is the chip's only rounding mode. In hardware it is an addition of
    ``2**(shift-1)`` followed by an arithmetic shift; ties go towards +infinity
    (``-2.5 → -2``, ``2.5 → 3``).
    """
    if shift == 0:
        return x
    return (x + (1 << (shift - 1))) >> shift


def check_signed(name: str, x, bits: int) -> None:
    """Raise `ValueError` if any value of ``x`` does not fit a signed ``bits``-wide integer."""
    arr = np.asarray(x)
    if arr.size and (arr.min() < smin(bits) or arr.max() > smax(bits)):
        raise ValueError(
            f"{name} must fit in {bits} signed bits [{smin(bits)}, {smax(bits)}], "
            f"found values in [{arr.min()}, {arr.max()}]")


def f_table() -> np.ndarray:
    """The post-synaptic function ``f = tanh`` as the chip's 256-entry table.

    Entry ``k`` holds ``f`` at ``z = (k − 128)/32``, i.e. ``z ∈ [−4, 4)``, as
    ``clamp(round_half_up(128·tanh(z)), −127, 127)``. Returned as a new ``int64`` array.
    """
    half = F_SIZE // 2
    scale = 1 << F_FRAC
    return np.array(
        [max(-127, min(127, math.floor(scale * math.tanh((k - half) / (1 << F_IN_FRAC)) + 0.5)))
         for k in range(F_SIZE)], dtype=np.int64)


#: The table itself (read-only), computed once at import.
F_TABLE = f_table()
F_TABLE.setflags(write=False)
