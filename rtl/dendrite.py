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
ignored, which spares a clearing pass. The block is a pipeline, one lane group per cycle,
with no more than one multiplier or one add chain in a stage: the memory words are
registered as read, then aged (and scaled by ``x``), and the accumulators, read by the
core one cycle before, are added to in the last stage (`latency`), whose sums the core
writes back.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.rtl.arith import rshift_round

__all__ = ["Dendrite", "lanes_of", "latency"]


def lanes_of(cfg: CoreConfig, bits: int, *, sign: bool = True) -> data.ArrayLayout:
    """One memory word: ``cfg.lanes`` entries of ``bits`` bits (signed unless ``sign=False``)."""
    return data.ArrayLayout(signed(bits) if sign else unsigned(bits), cfg.lanes)


def aged(cfg: CoreConfig, p, h):
    """``rnd(P·H, p_frac)`` of one entry; fits ``h_bits`` because ``P ≤ 2**p_frac``."""
    return rshift_round(p * h, cfg.p_frac)[:cfg.h_bits].as_signed()


def latency(cfg: CoreConfig) -> int:
    """Cycles from `Dendrite` taking ``p``, ``w``, ``h``, ``x`` to taking ``acc_w``,
    ``acc_h``, ``first`` (its sums are out in that cycle)::

        0   p, w, h, x                 registered as read (block-RAM outputs)
        1   rnd(P·H); x·W              (multiply)
        2   x·H̃                        (multiply; only with act_bits > 1)
        L   acc + x·W, acc + x·H̃      (add chain; the sums out)
    """
    return 2 + (cfg.act_bits > 1)


class Dendrite(wiring.Component):
    """Aging and accumulation of one lane group, pipelined (`latency`).

    Parameters
    ----------
    cfg : CoreConfig

    Members
    -------
    ``p``, ``w``, ``h`` and ``x`` are taken in one cycle, ``acc_w``, ``acc_h`` and
    ``first`` `latency` cycles later, in the cycle the sums and ``h_aged`` are out.

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

        def reg(value, name):
            # Data registers need no reset: the core's valid bits say which hold a group.
            r = Signal(Value.cast(value).shape(), name=name, reset_less=True)
            m.d.sync += r.eq(value)
            return r

        p1, x1 = reg(self.p, "p1"), reg(self.x, "x1")
        x2 = reg(x1, "x2")
        for l in range(cfg.lanes):
            w1, h1 = reg(self.w[l], f"w1_{l}"), reg(self.h[l], f"h1_{l}")
            h_aged = reg(aged(cfg, p1, h1), f"aged2_{l}")
            w = reg(w1 * x1 if cfg.act_bits > 1 else w1, f"w2_{l}")
            h = h_aged
            if cfg.act_bits > 1:
                h_aged, w, h = reg(h_aged, f"aged3_{l}"), reg(w, f"w3_{l}"), \
                    reg(h_aged * x2, f"h3_{l}")
            m.d.comb += [
                self.h_aged[l].eq(h_aged),
                self.sum_w[l].eq(Mux(self.first, 0, self.acc_w[l]) + w),
                self.sum_h[l].eq(Mux(self.first, 0, self.acc_h[l]) + h),
            ]
        return m
