"""Plasticity engine datapath: the local rule applied to one lane group of one row.

Per :func:`glocal.golden.reference.learn` and ``post_trace``, for every lane ``l``::

    f[l]     = F_TABLE[clamp((u − θ) >> (vth_shift − 5), −128, 127) + 128]   # soma pass
    H_new[l] = clamp(H̃[l] + x_i·E[l]·rnd(β_i·f[l], learn_shift), −h_max, h_max)  # learn pass

(``x_i`` the row's input value: 0/1 on a spike-only core, ``0 .. 2**act_bits − 1`` with
multi-bit activations, where it costs a multiplier per lane). ``E`` is the synapses'
plasticity enable (``cfg.plastic_mask``; all ones without it).

`trace_index` builds the table index (the table itself is a ROM in the core); `Plastic`
is the update the core wraps between its memory reads and the write of H, a pipeline
with no more than one multiplier or one add chain in a stage (:data:`STAGE`).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.rtl.arith import rshift_round
from glocal.rtl.dendrite import aged, lanes_of

__all__ = ["STAGE", "Plastic", "trace_index", "trace_select"]

#: The cycle, counted from the one that takes ``beta`` and ``f``, in which `Plastic`
#: takes each input, and in which ``h_new`` is out (from registers, through the add and
#: clamp); block-RAM words are registered as read, before any multiplier::
#:
#:     0   beta, f            registered
#:     1   p, h, x, enable    registered; rnd(β·f)                (multiply)
#:     2                      rnd(P·H); x·E·rnd(β·f)               (multiply each, side by side)
#:     3   h_max → h_new      H̃ + increment, clamp               (add chain)
#:
#: β is per row and f per lane group, both known a stage before P and H, so the core
#: reads them one stage earlier.
STAGE = {"beta": 0, "f": 0, "p": 1, "h": 1, "x": 1, "enable": 1, "h_max": 3, "h_new": 3}


def trace_index(m: Module, cfg: CoreConfig, u, theta, vth_shift):
    """Unsigned 8-bit index into ``F_TABLE`` of the post-synaptic term of one neuron."""
    diff = Signal(signed(cfg.u_bits + 1))
    m.d.comb += diff.eq(u - theta)
    return trace_select(m, cfg, diff, vth_shift)


def trace_select(m: Module, cfg: CoreConfig, diff, vth_shift):
    """`trace_index` from ``diff = u − θ`` (which a pipeline may register first)."""
    half = fixed.F_SIZE // 2
    z = Signal(signed(cfg.u_bits + 1))
    shift_bits = max(1, (cfg.vth_shift_range[1] - fixed.F_IN_FRAC).bit_length())
    m.d.comb += z.eq(diff >> (vth_shift - fixed.F_IN_FRAC)[:shift_bits])
    idx = Signal(unsigned(8))
    m.d.comb += idx.eq(Mux(z < -half, 0, Mux(z > half - 1, fixed.F_SIZE - 1, z + half)))
    return idx


class Plastic(wiring.Component):
    """Hebbian update of one lane group, pipelined (one lane group per cycle).

    Parameters
    ----------
    cfg : CoreConfig

    Members
    -------
    Each input is taken, and ``h_new`` is out, in the cycle :data:`STAGE` gives it.

    p : In(unsigned(cfg.p_bits))
        Decay factor of the row.
    h : In(lanes_of(cfg, h_bits))
        Stored Hebbian weights of the lane group.
    beta : In(signed(cfg.beta_bits))
        Learning rate of the row's axon.
    f : In(lanes_of(cfg, 8))
        Post-synaptic terms of the lane group's neurons.
    x : In(unsigned(cfg.act_bits))
        The row's input value this step (0: the row is only refreshed, aged and clamped).
    h_max : In(unsigned(cfg.h_bits - 1))
        Clamp bound.
    enable : In(cfg.lanes), only with ``cfg.plastic_mask``
        Plasticity enable of each lane's synapse: a disabled one takes no increment (it
        is still aged and clamped).
    h_new : Out(lanes_of(cfg, h_bits))
    """

    def __init__(self, *, cfg: CoreConfig):
        self._cfg = cfg
        ports = {
            "p": In(unsigned(cfg.p_bits)),
            "h": In(lanes_of(cfg, cfg.h_bits)),
            "beta": In(signed(cfg.beta_bits)),
            "f": In(lanes_of(cfg, fixed.F_BITS)),
            "x": In(unsigned(cfg.act_bits)),
            "h_max": In(unsigned(cfg.h_bits - 1)),
            "h_new": Out(lanes_of(cfg, cfg.h_bits)),
        }
        if cfg.plastic_mask:
            ports["enable"] = In(cfg.lanes)
        super().__init__(ports)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()

        def reg(value, name):
            # Data registers need no reset: the core's valid bits say which hold a group.
            r = Signal(Value.cast(value).shape(), name=name, reset_less=True)
            m.d.sync += r.eq(value)
            return r

        lim = self.h_max
        # Block-RAM words are registered as read, before any multiplier.
        beta1, p2, x2 = reg(self.beta, "beta1"), reg(self.p, "p2"), reg(self.x, "x2")
        for l in range(cfg.lanes):
            f1 = reg(self.f[l], f"f1_{l}")
            step2 = reg(rshift_round(beta1 * f1, cfg.learn_shift), f"step2_{l}")
            h2 = reg(self.h[l], f"h2_{l}")
            if cfg.plastic_mask:
                step2 = Mux(reg(self.enable[l], f"enable2_{l}"), step2, 0)
            delta = Mux(x2, step2, 0) if cfg.act_bits == 1 else step2 * x2
            delta3 = reg(delta, f"delta3_{l}")
            aged3 = reg(aged(cfg, p2, h2), f"aged3_{l}")
            x_bits = cfg.act_bits if cfg.act_bits > 1 else 0
            s = Signal(signed(cfg.h_bits + cfg.beta_bits + fixed.F_BITS + 1 + x_bits),
                       name=f"sum{l}")
            m.d.comb += s.eq(aged3 + delta3)
            m.d.comb += self.h_new[l].eq(Mux(s > lim, lim, Mux(s < -lim, -lim, s)))
        return m
