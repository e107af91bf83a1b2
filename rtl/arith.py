"""Amaranth counterparts of the fixed-point primitives in :mod:`glocal.golden.fixed`.

Each function builds combinational logic that computes exactly what its namesake in
``golden.fixed`` computes; ``tests/rtl/test_arith.py`` checks that on every corner.
"""

from __future__ import annotations

from amaranth.hdl import C, Mux, Value

from glocal.golden import fixed

__all__ = ["rshift_round", "saturate", "activate"]


def rshift_round(value: Value, shift: int) -> Value:
    """Round-half-up right shift by a constant: add ``2**(shift-1)``, shift arithmetically."""
    if shift == 0:
        return value
    return (value + (1 << (shift - 1))) >> shift


def saturate(value: Value, bits: int) -> Value:
    """Clamp a signed value to a ``bits``-wide signed range; the result is ``signed(bits)``."""
    lo, hi = fixed.smin(bits), fixed.smax(bits)
    clamped = Mux(value > hi, hi, Mux(value < lo, lo, value))
    return clamped[:bits].as_signed()


def activate(value: Value, shift: Value, bits: int) -> Value:
    """ANN output of :func:`glocal.golden.reference.activate`: ``clamp(rnd(value, shift),
    0, 2**bits − 1)`` with a run-time ``shift`` (a barrel shifter); ``unsigned(bits)``.

    ``(1 << shift) >> 1`` is the rounding constant ``2**(shift−1)``, and 0 for ``shift = 0``.
    """
    q = (value + ((C(1, 1) << shift) >> 1)) >> shift
    top = (1 << bits) - 1
    return Mux(q < 0, 0, Mux(q > top, top, q))[:bits]
