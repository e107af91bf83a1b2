"""Soma: the leaky integrate-and-fire update of one neuron per cycle.

Computes, per :func:`glocal.golden.reference.reset` / ``charge`` / ``fire``::

    v = u − s·2**vth_shift                  # soft reset of last step's spike
    u' = sat(rnd(decay·v) + I, u_bits)       # leak, integrate, saturate
    s' = u' ≥ 2**vth_shift                   # fire

Two registered stages with a stream on each side, so that no stage holds more than one
multiplier or one add chain (this is on the FIRE critical path of a core)::

    stage 1   v, decay·v                       (subtract, multiply)
    stage 2   rnd(·) + I, saturate, ≥ V_th     (add chain, compare)

Latency is two cycles (:data:`LATENCY`); one neuron per cycle. A core instantiates
``lanes`` of them side by side.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.rtl.arith import rshift_round, saturate

__all__ = ["LATENCY", "Soma", "soma_in_layout", "soma_out_layout"]

#: Cycles from a neuron taken on ``i`` to its result on ``o`` (without back-pressure).
LATENCY = 2


def soma_in_layout(cfg: CoreConfig) -> data.StructLayout:
    """One neuron's input: its current ``I`` and the previous step's ``u`` and ``s``."""
    return data.StructLayout({
        "current": signed(cfg.i_bits),
        "u": signed(cfg.u_bits),
        "s": unsigned(1),
    })


def soma_out_layout(cfg: CoreConfig) -> data.StructLayout:
    """One neuron's result: new membrane ``u`` (before its soft reset) and spike ``s``."""
    return data.StructLayout({
        "u": signed(cfg.u_bits),
        "s": unsigned(1),
    })


class Soma(wiring.Component):
    """LIF soma lane, a two-stage pipeline.

    Parameters
    ----------
    cfg : CoreConfig
        Sets the widths of the current, membrane and leak factor.

    Members
    -------
    i : In(stream.Signature(soma_in_layout(cfg)))
        Neurons to update, one per transfer.
    o : Out(stream.Signature(soma_out_layout(cfg)))
        Updated neurons, in input order, :data:`LATENCY` cycles later.
    vth_shift : In(unsigned)
        Threshold exponent register, sampled with each neuron as it is taken.
    decay : In(unsigned(cfg.decay_bits))
        Leak factor register with ``cfg.decay_frac`` fractional bits, sampled with each
        neuron as it is taken.
    """

    def __init__(self, *, cfg: CoreConfig):
        self._cfg = cfg
        super().__init__({
            "i": In(stream.Signature(soma_in_layout(cfg))),
            "o": Out(stream.Signature(soma_out_layout(cfg))),
            "vth_shift": In(range(cfg.vth_shift_range[1] + 1)),
            "decay": In(unsigned(cfg.decay_bits)),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()

        # Both stages move together: the pipeline advances unless its output is refused.
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)

        # -- stage 1: soft reset and leak product ----------------------------------------
        vth = Signal(unsigned(cfg.u_bits))
        m.d.comb += vth.eq(1 << self.vth_shift)
        # v needs one bit more than u: a host may load s = 1 with u < V_th.
        v = Signal(signed(cfg.u_bits + 1))
        m.d.comb += v.eq(self.i.payload.u - (self.i.payload.s * vth))
        s1_valid = Signal()
        # Data registers need no reset (valid has one): cheaper to pack on an FPGA.
        s1_product = Signal(signed(cfg.u_bits + 1 + cfg.decay_bits + 1), reset_less=True)
        s1_current = Signal(signed(cfg.i_bits), reset_less=True)
        s1_vth = Signal.like(vth, reset_less=True)   # the threshold travels with its neuron
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(self.i.valid),
                s1_product.eq(v * self.decay),
                s1_current.eq(self.i.payload.current),
                s1_vth.eq(vth),
            ]

        # -- stage 2: round, integrate, saturate, fire -----------------------------------
        u = Signal(signed(cfg.u_bits))
        leaked = rshift_round(s1_product, cfg.decay_frac)
        m.d.comb += u.eq(saturate(leaked + s1_current, cfg.u_bits))
        with m.If(advance):
            m.d.sync += [
                self.o.valid.eq(s1_valid),
                self.o.payload.u.eq(u),
                self.o.payload.s.eq(u >= s1_vth),
            ]
        return m
