"""Soma: the leaky integrate-and-fire update of one neuron per cycle.

Computes, per :func:`glocal.golden.reference.reset` / ``charge`` / ``fire``::

    v = u − s·2**vth_shift                  # soft reset of last step's spike
    u' = sat(rnd(decay·v) + I, u_bits)       # leak, integrate, saturate
    s' = u' ≥ 2**vth_shift                   # fire

A single registered stage with a stream on each side; a core instantiates ``lanes`` of
them side by side.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.rtl.arith import rshift_round, saturate

__all__ = ["Soma", "soma_in_layout", "soma_out_layout"]


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
    """LIF soma lane.

    Parameters
    ----------
    cfg : CoreConfig
        Sets the widths of the current, membrane and leak factor.

    Members
    -------
    i : In(stream.Signature(soma_in_layout(cfg)))
        Neurons to update, one per transfer.
    o : Out(stream.Signature(soma_out_layout(cfg)))
        Updated neurons, in input order, one cycle later.
    vth_shift : In(unsigned)
        Threshold exponent register, held stable while neurons flow.
    decay : In(unsigned(cfg.decay_bits))
        Leak factor register with ``cfg.decay_frac`` fractional bits.
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

        vth = Signal(unsigned(cfg.u_bits))
        m.d.comb += vth.eq(1 << self.vth_shift)

        # v needs one bit more than u: a host may load s = 1 with u < V_th.
        v = Signal(signed(cfg.u_bits + 1))
        m.d.comb += v.eq(self.i.payload.u - (self.i.payload.s * vth))

        u = Signal(signed(cfg.u_bits))
        leaked = rshift_round(v * self.decay, cfg.decay_frac)
        m.d.comb += u.eq(saturate(leaked + self.i.payload.current, cfg.u_bits))

        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)
        with m.If(advance):
            m.d.sync += [
                self.o.valid.eq(self.i.valid),
                self.o.payload.u.eq(u),
                self.o.payload.s.eq(u >= vth),
            ]
        return m
