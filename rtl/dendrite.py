"""Dendrite: the lane-parallel datapath that integrates one lane group of one active row.

For an active axon ``i`` and lane group ``g`` it computes, for every lane ``l``
(:func:`glocal.golden.reference.age` and ``integrate``)::

    H̃[l]     = rnd(P·H[i, g·lanes + l], p_frac)       # lazy Hebbian decay of the row
    accW'[l] = accW[l] + x_i·W[i, g·lanes + l]
    accH'[l] = accH[l] + x_i·H̃[l]

``x_i`` is the axon's value: always 1 on a spike-only core (``act_bits = 1``, which has no
multipliers here), ``1 .. 2**act_bits − 1`` otherwise (``lanes`` multipliers of
``w_bits × act_bits`` and of ``h_bits × act_bits``).

``first`` marks the first active row of a step: the accumulators' old contents are then
ignored, which spares a clearing pass. The block is combinational; the core registers
around it (memory read → this → accumulator write, one lane group per cycle).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.rtl.arith import rshift_round

__all__ = ["Dendrite", "lanes_of"]


def lanes_of(cfg: CoreConfig, bits: int, *, sign: bool = True) -> data.ArrayLayout:
    """One memory word: ``cfg.lanes`` entries of ``bits`` bits (signed unless ``sign=False``)."""
    return data.ArrayLayout(signed(bits) if sign else unsigned(bits), cfg.lanes)


def aged(cfg: CoreConfig, p, h):
    """``rnd(P·H, p_frac)`` of one entry; fits ``h_bits`` because ``P ≤ 2**p_frac``."""
    return rshift_round(p * h, cfg.p_frac)[:cfg.h_bits].as_signed()


class Dendrite(wiring.Component):
    """Aging and accumulation of one lane group.

    Parameters
    ----------
    cfg : CoreConfig

    Members
    -------
    p : In(unsigned(cfg.p_bits))
        Decay factor of the row, ``P[(t − t_last[i]) mod 2**ts_bits]``.
    w, h : In(lanes_of(cfg, w_bits / h_bits))
        The row's weights and stored Hebbian weights for this lane group.
    acc_w, acc_h : In(lanes_of(cfg, acc_bits))
        Accumulators before this row.
    x : In(unsigned(cfg.act_bits))
        The row's input value (ignored with ``act_bits = 1``: a spike is 1).
    first : In(1)
        Ignore ``acc_w``/``acc_h`` (first active row of the step).
    sum_w, sum_h : Out(lanes_of(cfg, acc_bits))
        Accumulators after this row.
    h_aged : Out(lanes_of(cfg, h_bits))
        ``H̃`` of the lane group.
    """

    def __init__(self, *, cfg: CoreConfig):
        self._cfg = cfg
        acc = lanes_of(cfg, cfg.acc_bits)
        super().__init__({
            "p": In(unsigned(cfg.p_bits)),
            "w": In(lanes_of(cfg, cfg.w_bits)),
            "h": In(lanes_of(cfg, cfg.h_bits)),
            "acc_w": In(acc),
            "acc_h": In(acc),
            "x": In(unsigned(cfg.act_bits)),
            "first": In(1),
            "sum_w": Out(acc),
            "sum_h": Out(acc),
            "h_aged": Out(lanes_of(cfg, cfg.h_bits)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        for l in range(cfg.lanes):
            h_aged = aged(cfg, self.p, self.h[l])
            w, h = self.w[l], h_aged
            if cfg.act_bits > 1:
                w, h = w * self.x, h * self.x
            m.d.comb += [
                self.h_aged[l].eq(h_aged),
                self.sum_w[l].eq(Mux(self.first, 0, self.acc_w[l]) + w),
                self.sum_h[l].eq(Mux(self.first, 0, self.acc_h[l]) + h),
            ]
        return m
