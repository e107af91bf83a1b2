"""Soma: the leaky integrate-and-fire update of one neuron per cycle.

Computes, per :func:`glocal.golden.reference.reset` / ``charge`` / ``fire``::

    v = u − s·2**vth_shift                  # soft reset of last step's spike
    u' = sat(rnd(decay·v) + I, u_bits)       # leak, integrate, saturate
    s' = u' ≥ 2**vth_shift                   # fire

Four registered stages with a stream on each side, so that no stage holds more than one
multiplier or one add chain (the soma is on FIRE's path, which set the core's clock)::

    stage 1   v = u − s·2**vth_shift                     (subtract)
    stage 2   decay·v                                    (multiply)
    stage 3   rnd(decay·v) + I                           (add chain)
    stage 4   saturate, ≥ V_th                           (compares, side by side)

Latency is four cycles (:data:`LATENCY`); one neuron per cycle. A core instantiates
``lanes`` of them side by side.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.rtl.arith import rshift_round, saturate

__all__ = ["LATENCY", "Soma", "soma_in_layout", "soma_out_layout"]

#: Cycles from a neuron taken on ``i`` to its result on ``o`` (without back-pressure).
LATENCY = 4


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
    """LIF soma lane, a four-stage pipeline.

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

        # All stages move together: the pipeline advances unless its output is refused.
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)

        def stage(value, name):
            # Data registers need no reset (valid has one): cheaper to pack on an FPGA.
            r = Signal(Value.cast(value).shape(), name=name, reset_less=True)
            with m.If(advance):
                m.d.sync += r.eq(value)
            return r

        valid = self.i.valid
        for k in range(1, LATENCY):
            valid = stage(valid, f"s{k}_valid")
        with m.If(advance):
            m.d.sync += self.o.valid.eq(valid)

        # The threshold, the leak factor and the current travel with their neuron.
        vth = Signal(unsigned(cfg.u_bits))
        m.d.comb += vth.eq(1 << self.vth_shift)
        vth1, decay1, current1 = (stage(vth, "s1_vth"), stage(self.decay, "s1_decay"),
                                  stage(self.i.payload.current, "s1_current"))
        vth2, current2 = stage(vth1, "s2_vth"), stage(current1, "s2_current")
        vth3 = stage(vth2, "s3_vth")

        # -- stage 1: soft reset. v needs one bit more than u: a host may load s = 1 with
        # u < V_th.
        v = Signal(signed(cfg.u_bits + 1))
        m.d.comb += v.eq(self.i.payload.u - (self.i.payload.s * vth))
        v1 = stage(v, "s1_v")
        # -- stage 2: leak product
        product2 = stage(v1 * decay1, "s2_product")
        # -- stage 3: round and integrate
        sum3 = stage(rshift_round(product2, cfg.decay_frac) + current2, "s3_sum")
        # -- stage 4: saturate and fire; the threshold compares the sum, beside the
        # saturation (a sum above the range fires as the saturated u would).
        u = saturate(sum3, cfg.u_bits)
        hi = fixed.smax(cfg.u_bits)
        with m.If(advance):
            m.d.sync += [
                self.o.payload.u.eq(u),
                self.o.payload.s.eq(Mux(sum3 > hi, hi >= vth3, sum3 >= vth3)),
            ]
        return m
