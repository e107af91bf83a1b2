"""Core: one neuromorphic core with on-chip hybrid plasticity.

The core runs :func:`glocal.golden.reference.step` bit-exactly, as a sequence of passes
over block-RAM memories (``docs/core.md`` has the block diagram and the timing)::

    SCAN       the axon scanner lists the step's active axons        (~2·words + active)
    INTEGRATE  for each active row, for each lane group: age H, accumulate W and H̃
                                                                      (active · groups)
    FIRE       for each lane group: current, soma, post-synaptic term f  (groups)
    LEARN      for each active row and the refresh row, each lane group: update H
                                                                      ((active+1) · groups)

INTEGRATE and LEARN share one three-stage row pipeline (list → t_last → P, W, H → write),
one lane group per cycle. The configuration bus (:mod:`glocal.rtl.regs`) reaches every
memory and register through the same ports while the core is idle.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out
from amaranth.utils import ceil_log2

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Region, region_width
from glocal.rtl.arith import rshift_round
from glocal.rtl.axon import Axon
from glocal.rtl.bus import Control
from glocal.rtl.bus import Signature as BusSignature
from glocal.rtl.dendrite import Dendrite, lanes_of
from glocal.rtl.plastic import Plastic, trace_index
from glocal.rtl.regs import Regs
from glocal.rtl.soma import Soma

__all__ = ["Core"]


class _Ram:
    """One block RAM: a synchronous read port and a lane-granular write port."""

    def __init__(self, m, name, shape, depth, *, transparent=False, gran=True):
        self.mem = Memory(shape=shape, depth=depth, init=[])
        m.submodules[name] = self.mem
        self.wr = self.mem.write_port(granularity=1 if gran else None)
        self.rd = self.mem.read_port(transparent_for=(self.wr,) if transparent else ())


class Core(wiring.Component):
    """One core: axon buffer, dendrite, soma, plasticity engine, controller.

    Parameters
    ----------
    cfg : CoreConfig
        Geometry and widths.

    Members
    -------
    bus : Out(bus.Signature())
        Configuration/memory port, addresses per :mod:`glocal.golden.memmap` (core 0).
        Memories other than ``AXON`` are reached only while the core is not busy
        (requests wait); registers can be read at any time.
    ctrl : Out(bus.Control())
        Step control.
    """

    def __init__(self, *, cfg: CoreConfig):
        self._cfg = cfg
        super().__init__({"bus": Out(BusSignature()), "ctrl": Out(Control())})

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        A, N, L, G = cfg.axons, cfg.neurons, cfg.lanes, cfg.groups

        ram = {
            "weight": _Ram(m, "weight", lanes_of(cfg, cfg.w_bits), A * G),
            "hebb": _Ram(m, "hebb", lanes_of(cfg, cfg.h_bits), A * G),
            "acc_w": _Ram(m, "acc_w", lanes_of(cfg, cfg.acc_bits), G, transparent=True),
            "acc_h": _Ram(m, "acc_h", lanes_of(cfg, cfg.acc_bits), G, transparent=True),
            "bias": _Ram(m, "bias", lanes_of(cfg, cfg.bias_bits), G),
            "theta": _Ram(m, "theta", lanes_of(cfg, cfg.theta_bits), G),
            "u": _Ram(m, "u", lanes_of(cfg, cfg.u_bits), G),
            "s": _Ram(m, "s", lanes_of(cfg, 1, sign=False), G),
            "f": _Ram(m, "f", lanes_of(cfg, fixed.F_BITS), G),
            "t_last": _Ram(m, "t_last", unsigned(cfg.ts_bits), A, gran=False),
            "beta": _Ram(m, "beta", signed(cfg.beta_bits), A, gran=False),
            "p_table": _Ram(m, "p_table", unsigned(cfg.p_bits), 1 << cfg.ts_bits, gran=False),
            "active": _Ram(m, "active", range(A), A, gran=False),
        }
        m.submodules.f_rom = f_rom = Memory(shape=signed(fixed.F_BITS), depth=fixed.F_SIZE,
                                            init=[int(v) for v in fixed.F_TABLE])
        f_rd = [f_rom.read_port() for _ in range(L)]

        m.submodules.axon = axon = Axon(cfg=cfg)
        m.submodules.regs = regs = Regs(cfg=cfg)
        wiring.connect(m, wiring.flipped(self.bus), regs.bus)
        m.submodules.dendrite = dend = Dendrite(cfg=cfg)
        m.submodules.plastic = plas = Plastic(cfg=cfg)
        somas = [Soma(cfg=cfg) for _ in range(L)]
        for l, soma in enumerate(somas):
            m.submodules[f"soma{l}"] = soma

        r = regs   # register values: r.t, r.alpha, ...

        # -- controller state --------------------------------------------------------------
        learn_now = Signal()            # LEARN register latched at start
        n_active = Signal(range(A + 1))
        refresh_hit = Signal()          # the refresh row is also active
        k = Signal(range(A + 2))        # row being issued (index into the active list)
        g = Signal(range(G + 1))        # lane group being issued
        st = {name: Signal(name=f"st_{name}") for name in
              ("idle", "scan", "integ", "fire", "learn", "done")}

        # -- row pipeline (INTEGRATE and LEARN) -----------------------------------------------
        n_rows = Signal(range(A + 2))
        m.d.comb += n_rows.eq(Mux(st["learn"], n_active + ~refresh_hit, n_active))
        issue = Signal()
        m.d.comb += issue.eq((st["integ"] | st["learn"]) & (k < n_rows))
        with m.If(issue):
            with m.If(g == G - 1):
                m.d.sync += [g.eq(0), k.eq(k + 1)]
            with m.Else():
                m.d.sync += g.eq(g + 1)

        s0 = {"v": Signal(), "g": Signal(range(G)), "ref": Signal(), "first": Signal()}
        s1 = {"v": Signal(), "g": Signal(range(G)), "x": Signal(), "first": Signal(),
              "last": Signal(), "row": Signal(range(A)), "word": Signal(range(A * G))}
        s2 = {key: Signal.like(sig, name=f"s2_{key}") for key, sig in s1.items()}
        m.d.sync += [s0["v"].eq(issue), s0["g"].eq(g), s0["ref"].eq(k == n_active),
                     s0["first"].eq(k == 0)]
        row = Signal(range(A))
        m.d.comb += row.eq(Mux(s0["ref"], r.refresh, ram["active"].rd.data))
        m.d.sync += [s1["v"].eq(s0["v"]), s1["g"].eq(s0["g"]), s1["x"].eq(~s0["ref"]),
                     s1["first"].eq(s0["first"]), s1["last"].eq(s0["g"] == G - 1),
                     s1["row"].eq(row), s1["word"].eq(row * G + s0["g"])]
        m.d.sync += [s2[key].eq(s1[key]) for key in s1]
        row_busy = Signal()
        m.d.comb += row_busy.eq(issue | s0["v"] | s1["v"] | s2["v"])

        m.d.comb += [
            dend.p.eq(ram["p_table"].rd.data),
            dend.w.eq(ram["weight"].rd.data),
            dend.h.eq(ram["hebb"].rd.data),
            dend.acc_w.eq(ram["acc_w"].rd.data),
            dend.acc_h.eq(ram["acc_h"].rd.data),
            dend.first.eq(s2["first"]),
            plas.p.eq(ram["p_table"].rd.data),
            plas.h.eq(ram["hebb"].rd.data),
            plas.beta.eq(ram["beta"].rd.data),
            plas.f.eq(ram["f"].rd.data),
            plas.x.eq(s2["x"]),
            plas.h_max.eq(r.h_max),
        ]

        # -- fire pipeline -------------------------------------------------------------------
        fg = Signal(range(G + 1))
        f_issue = Signal()
        m.d.comb += f_issue.eq(st["fire"] & (fg < G))
        with m.If(f_issue):
            m.d.sync += fg.eq(fg + 1)
        f1 = {"v": Signal(), "g": Signal(range(G))}
        f2 = {"v": Signal(), "g": Signal(range(G)), "theta": Signal(lanes_of(cfg, cfg.theta_bits))}
        f3 = {"v": Signal(), "g": Signal(range(G))}
        m.d.sync += [f1["v"].eq(f_issue), f1["g"].eq(fg),
                     f2["v"].eq(f1["v"]), f2["g"].eq(f1["g"]),
                     f2["theta"].eq(ram["theta"].rd.data),
                     f3["v"].eq(f2["v"]), f3["g"].eq(f2["g"])]
        fire_busy = Signal()
        m.d.comb += fire_busy.eq(f_issue | f1["v"] | f2["v"] | f3["v"])

        any_active = Signal()
        m.d.comb += any_active.eq(n_active != 0)
        spikes = []
        for l, soma in enumerate(somas):
            acc_w = Mux(any_active, ram["acc_w"].rd.data[l], 0)
            acc_h = Mux(any_active, ram["acc_h"].rd.data[l], 0)
            cur = Signal(signed(cfg.i_bits), name=f"current{l}")
            m.d.comb += cur.eq(acc_w + ram["bias"].rd.data[l]
                               + rshift_round(r.alpha * acc_h, cfg.alpha_frac))
            m.d.comb += [
                soma.vth_shift.eq(r.vth_shift),
                soma.decay.eq(r.decay),
                soma.i.valid.eq(f1["v"]),
                soma.i.payload.current.eq(cur),
                soma.i.payload.u.eq(ram["u"].rd.data[l]),
                soma.i.payload.s.eq(ram["s"].rd.data[l]),
                soma.o.ready.eq(1),
                f_rd[l].addr.eq(trace_index(m, cfg, soma.o.payload.u, f2["theta"][l],
                                            r.vth_shift)),
            ]
            spikes.append(soma.o.payload.s)

        # -- memory ports: the bus owns them while idle, the passes otherwise -----------------
        self._bus_ports(m, regs.mem, ram, axon, st["idle"])
        with m.If(~st["idle"]):
            rd = {name: ram[name].rd for name in ram}
            wr = {name: ram[name].wr for name in ram}
            # SCAN appends to the active list.
            m.d.comb += [wr["active"].addr.eq(n_active), wr["active"].data.eq(axon.rows.payload),
                         wr["active"].en.eq(st["scan"] & axon.rows.valid)]
            # Row pipeline: stage 0 reads the list and t_last, stage 1 the rest.
            m.d.comb += [
                rd["active"].addr.eq(k),
                rd["t_last"].addr.eq(row),
                rd["p_table"].addr.eq((r.t - rd["t_last"].data)[:cfg.ts_bits]),
                rd["weight"].addr.eq(s1["word"]),
                rd["hebb"].addr.eq(s1["word"]),
                rd["beta"].addr.eq(s1["row"]),
                rd["f"].addr.eq(s1["g"]),
            ]
            with m.If(st["fire"]):
                for name in ("acc_w", "acc_h", "bias", "theta", "u", "s"):
                    m.d.comb += rd[name].addr.eq(fg)
            with m.Else():
                m.d.comb += [rd["acc_w"].addr.eq(s1["g"]), rd["acc_h"].addr.eq(s1["g"])]
            integ_wr = st["integ"] & s2["v"]
            learn_wr = st["learn"] & s2["v"]
            m.d.comb += [
                wr["acc_w"].addr.eq(s2["g"]), wr["acc_w"].data.eq(dend.sum_w),
                wr["acc_w"].en.eq(integ_wr.replicate(L)),
                wr["acc_h"].addr.eq(s2["g"]), wr["acc_h"].data.eq(dend.sum_h),
                wr["acc_h"].en.eq(integ_wr.replicate(L)),
                wr["hebb"].addr.eq(s2["word"]), wr["hebb"].data.eq(plas.h_new),
                wr["hebb"].en.eq(learn_wr.replicate(L)),
                wr["t_last"].addr.eq(s2["row"]), wr["t_last"].data.eq(r.t),
                wr["t_last"].en.eq(learn_wr & s2["last"]),
            ]
            # Fire pipeline: soma results at stage 2, f at stage 3.
            for l, soma in enumerate(somas):
                m.d.comb += [wr["u"].data[l].eq(soma.o.payload.u),
                             wr["s"].data[l].eq(soma.o.payload.s),
                             wr["f"].data[l].eq(f_rd[l].data)]
            m.d.comb += [
                wr["u"].addr.eq(f2["g"]), wr["u"].en.eq(f2["v"].replicate(L)),
                wr["s"].addr.eq(f2["g"]), wr["s"].en.eq(f2["v"].replicate(L)),
                wr["f"].addr.eq(f3["g"]), wr["f"].en.eq(f3["v"].replicate(L)),
            ]

        # -- counters ------------------------------------------------------------------------
        with m.If(f2["v"]):
            m.d.comb += regs.add_spikes_out.eq(sum(spikes))
        with m.If(st["learn"] & s2["v"]):
            m.d.comb += regs.add_plastic_updates.eq(L)
        m.d.comb += [
            regs.add_cyc_integrate.eq(st["scan"] | st["integ"]),
            regs.add_cyc_fire.eq(st["fire"]),
            regs.add_cyc_learn.eq(st["learn"]),
            regs.add_cyc_step.eq(~st["idle"]),
        ]

        # -- the step sequence ---------------------------------------------------------------
        m.d.comb += [self.ctrl.ready.eq(st["idle"]), self.ctrl.busy.eq(~st["idle"]),
                     regs.busy.eq(~st["idle"])]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += st["idle"].eq(1)
                with m.If(self.ctrl.start):
                    m.d.comb += axon.start.eq(1)
                    m.d.sync += [learn_now.eq(r.learn), n_active.eq(0), refresh_hit.eq(0)]
                    with m.If(r.learn):
                        m.d.comb += regs.t_next.eq(1)
                    m.next = "SCAN"
            with m.State("SCAN"):
                m.d.comb += [st["scan"].eq(1), axon.rows.ready.eq(1)]
                with m.If(axon.rows.valid):
                    m.d.sync += n_active.eq(n_active + 1)
                    m.d.comb += [regs.add_spikes_in.eq(1), regs.add_syn_ops.eq(N)]
                    with m.If(axon.rows.payload == r.refresh):
                        m.d.sync += refresh_hit.eq(1)
                with m.Elif(axon.idle):
                    m.d.sync += [k.eq(0), g.eq(0)]
                    m.next = "INTEG"
            with m.State("INTEG"):
                m.d.comb += st["integ"].eq(1)
                with m.If(~row_busy):
                    m.d.sync += fg.eq(0)
                    m.next = "FIRE"
            with m.State("FIRE"):
                m.d.comb += st["fire"].eq(1)
                with m.If(~fire_busy):
                    m.d.sync += [k.eq(0), g.eq(0)]
                    with m.If(learn_now):
                        m.next = "LEARN"
                    with m.Else():
                        m.next = "DONE"
            with m.State("LEARN"):
                m.d.comb += st["learn"].eq(1)
                with m.If(~row_busy):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += [st["done"].eq(1), regs.add_steps.eq(1),
                             regs.refresh_next.eq(learn_now)]
                m.next = "IDLE"
        return m

    def _bus_ports(self, m, mem, ram, axon, idle):
        """Serve the bus's memory accesses: ``AXON`` at any time, the others while idle.

        Entries of lane-wide words are written with a per-lane write enable (no
        read-modify-write) and read by selecting the lane one cycle later.
        """
        cfg = self._cfg
        L = cfg.lanes
        lb = ceil_log2(L)
        word = mem.index >> lb
        lane = Signal(max(lb, 1))
        m.d.comb += lane.eq(mem.index[:lb])
        m.d.comb += mem.stall.eq(Mux(mem.region == Region.AXON,
                                     mem.we & ~axon.set.ready, ~idle))
        m.d.comb += [
            axon.peek_addr.eq(mem.index),
            axon.set.payload.index.eq(mem.index),
            axon.set.payload.value.eq(mem.data[0]),
            axon.set.valid.eq(mem.write & (mem.region == Region.AXON)),
        ]
        read_region = Signal(4)
        read_lane = Signal.like(lane)
        with m.If(mem.read):
            m.d.sync += [read_region.eq(mem.region), read_lane.eq(lane)]
        with m.If(idle):
            for region, name in _REGION_RAM.items():
                port = ram[name]
                hit = mem.write & (mem.region == region)
                if region in _LANE_WIDE:
                    width = region_width(cfg, region)
                    m.d.comb += [
                        port.rd.addr.eq(word), port.wr.addr.eq(word),
                        port.wr.data.eq(mem.data[:width].replicate(L)),
                        port.wr.en.eq(Mux(hit, 1 << lane, 0) if L > 1 else hit),
                    ]
                else:
                    m.d.comb += [port.rd.addr.eq(mem.index), port.wr.addr.eq(mem.index),
                                 port.wr.data.eq(mem.data), port.wr.en.eq(hit)]
        with m.Switch(read_region):
            for region, name in _REGION_RAM.items():
                with m.Case(region):
                    data = ram[name].rd.data
                    if region in _LANE_WIDE:
                        data = data[read_lane] if L > 1 else data[0]
                    m.d.comb += mem.rdata.eq(data)
            with m.Case(Region.AXON):
                m.d.comb += mem.rdata.eq(axon.peek_data)


#: Memories the bus reaches, by region (REGS is the register file, AXON the axon block).
_REGION_RAM = {
    Region.WEIGHT: "weight", Region.HEBB: "hebb", Region.T_LAST: "t_last",
    Region.BETA: "beta", Region.BIAS: "bias", Region.THETA: "theta", Region.U: "u",
    Region.S: "s", Region.P_TABLE: "p_table",
}
#: Regions stored ``lanes`` entries per memory word.
_LANE_WIDE = frozenset({Region.WEIGHT, Region.HEBB, Region.BIAS, Region.THETA, Region.U,
                        Region.S})


def memory_bits(cfg: CoreConfig) -> dict[str, int]:
    """Block-RAM bits of one core by role (the bitmap and ROM included), from its geometry.

    ``weight`` and ``hebb`` are the synapses; ``state`` is what persists between steps
    (membranes, spikes, row timestamps); ``params`` the other host-loaded memories
    (bias, theta, beta, decay table); ``scratch`` what a step uses internally
    (accumulators, post-synaptic terms, active list, input bitmap, f table).
    """
    from glocal.rtl.axon import WORD

    a, n = cfg.axons, cfg.neurons
    words = -(-a // WORD)
    return {
        "weight": a * n * cfg.w_bits,
        "hebb": a * n * cfg.h_bits,
        "state": n * (cfg.u_bits + 1) + a * cfg.ts_bits,
        "params": n * (cfg.bias_bits + cfg.theta_bits) + a * cfg.beta_bits
        + (1 << cfg.ts_bits) * cfg.p_bits,
        "scratch": n * (2 * cfg.acc_bits + fixed.F_BITS) + a * max(1, (a - 1).bit_length())
        + 2 * words * WORD + fixed.F_SIZE * fixed.F_BITS,
    }
