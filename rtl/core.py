"""Core: one neuromorphic core with on-chip hybrid plasticity.

The core runs :func:`glocal.golden.reference.step` bit-exactly, as a sequence of passes
over block-RAM memories (``docs/core.md`` has the block diagram and the timing)::

    SCAN       the axon scanner lists the step's active axons, feeding INTEGRATE as it
               finds them                                   (words + active, overlapped)
    INTEGRATE  for each active row, for each lane group: age H, accumulate W and H̃
                                                                      (active · groups)
    FIRE       for each lane group: current, soma, post-synaptic term f  (groups)
    LEARN      for each active row and the refresh row, each lane group: update H
                                                                      ((active+1) · groups)

INTEGRATE and LEARN are two three-stage pipelines (list → t_last → P, W/H → write), one
lane group per cycle each, sharing H's one read port (a word holds two lane groups).
LEARN of step t runs beside SCAN and INTEGRATE of step t+1: ``ctrl.ready`` rises when
FIRE is done and its spikes are sent, ``ctrl.busy`` falls when LEARN is done. A row that
LEARN(t) has yet to write stalls INTEGRATE(t+1) (row hazard, exact); INTEGRATE takes such
rows last. The configuration bus (:mod:`glocal.rtl.regs`) reaches every memory and
register through the same ports while the core is not busy.

With ``cfg.act_bits > 1`` (hybrid coding, ``docs/core.md``) axons hold multi-bit values
that travel with their rows to the dendrite (``x·W``) and the learn pass (``x·rnd(β·f)``),
and the ``MODE`` register can make the core an ANN layer: FIRE then puts out
``clamp(rnd(I, OUT_SHIFT), 0, act_max)`` instead of spikes, and nothing learns.

Besides the bus, a core has two spike streams (:mod:`glocal.rtl.noc`): ``spikes`` carries
every neuron that fired (with its value), one id per transfer, from a small FIFO behind
FIRE (FIRE waits when it is full; ``ctrl.ready`` waits until it is empty); ``axons`` sets
axons of the pending input bank, like bus writes to ``Region.AXON``.
"""

from __future__ import annotations

from amaranth.hdl import C, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2
from amaranth.vendor import SiliconBluePlatform

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Region, region_width
from glocal.golden.noc import value_bits
from glocal.rtl.arith import activate, rshift_round
from glocal.rtl.axon import Axon
from glocal.rtl.bus import Control
from glocal.rtl.bus import Signature as BusSignature
from glocal.rtl.dendrite import Dendrite, lanes_of
from glocal.rtl.dendrite import latency as dendrite_latency
from glocal.rtl.noc import axon_stream, neuron_stream
from glocal.rtl.plastic import STAGE as PLASTIC_STAGE
from glocal.rtl.plastic import Plastic, trace_select
from glocal.rtl.regs import Regs
from glocal.rtl.soma import LATENCY as SOMA_LATENCY
from glocal.rtl.soma import Soma
from glocal.rtl.spram import SinglePort
from glocal.rtl.target import resolve_lean

__all__ = ["Core"]

#: Stage of the fire pipeline whose current goes into the soma (``docs/core.md``).
FIRE_CURRENT = 3
#: Stage of the fire pipeline at which the soma results (u, s, output word) are out:
#: the soma takes ``soma.LATENCY`` cycles.
FIRE_OUT = FIRE_CURRENT + SOMA_LATENCY
#: Lane-group output words FIRE may have waiting for the ``spikes`` stream; FIRE reserves
#: room for every group in flight, so the depth must exceed ``FIRE_OUT`` for FIRE to issue
#: one group per cycle.
SPIKE_FIFO_DEPTH = 8
assert SPIKE_FIFO_DEPTH > FIRE_OUT


class _Ram:
    """One block RAM: a synchronous read port and a lane-granular write port."""

    def __init__(self, m, name, shape, depth, *, transparent=False, gran=True, reads=1):
        self.shape = shape
        self.mem = Memory(shape=shape, depth=depth, init=[])
        m.submodules[name] = self.mem
        self.wr = self.mem.write_port(granularity=1 if gran else None)
        self.rd = self.mem.read_port(transparent_for=(self.wr,) if transparent else ())
        self.rd2 = self.mem.read_port() if reads == 2 else None


class _Fifo:
    """A first-word-fall-through FIFO in a block RAM (a ``SyncFIFO``'s stream members).

    The read port is addressed with the head the next cycle will have and is transparent
    to the write port, so ``r_data`` is the head in the cycle ``r_rdy`` says so. The
    writer must not write when full (FIRE reserves room before it issues).
    """

    def __init__(self, m, name, width, depth):
        assert depth & (depth - 1) == 0, "pointers wrap at a power of two"
        self.mem = Memory(shape=width, depth=depth, init=[])
        m.submodules[name] = self.mem
        wr = self.mem.write_port()
        rd = self.mem.read_port(transparent_for=(wr,))
        self.w_data, self.w_en, self.r_en = Signal(width), Signal(), Signal()
        self.r_data, self.r_rdy = rd.data, Signal()
        self.level = Signal(range(depth + 1))
        w_ptr, r_ptr = Signal(range(depth)), Signal(range(depth))
        take = self.r_en & self.r_rdy
        r_next = Signal.like(r_ptr)
        m.d.comb += [
            self.r_rdy.eq(self.level != 0),
            r_next.eq(r_ptr + take),
            rd.addr.eq(r_next),
            wr.addr.eq(w_ptr), wr.data.eq(self.w_data), wr.en.eq(self.w_en),
        ]
        m.d.sync += [r_ptr.eq(r_next), w_ptr.eq(w_ptr + self.w_en),
                     self.level.eq(self.level + self.w_en - take)]


class _Port:
    """The address, data and enable of one side of a :class:`_SpRam`."""

    def __init__(self, name, shape, depth, en):
        self.addr = Signal(range(depth), name=f"{name}_addr")
        self.data = Signal(shape, name=f"{name}_data")
        self.en = Signal(en, name=f"{name}_en")


class _SpRam:
    """W or H in a single-port RAM (``Core(single_port=True)``), with ``_Ram``'s ports.

    The passes and the bus drive a read side and a write side as they would a block RAM's
    two ports; a write takes the one address, chosen by ``wr_sel`` (driven by the core
    from registers, not from the write enables: those come through the bus's strobe
    logic, too long a path to steer the tiles' address and chip selects). The bus gives
    both sides the same address. ``rd.en`` must be driven: high in exactly the cycles
    whose read data is used (`rtl.spram.SinglePort` checks in simulation that no such
    cycle writes).
    """

    def __init__(self, m, name, shape, depth):
        self.shape = shape
        m.submodules[name] = self.port = SinglePort(shape=shape, depth=depth)
        self.wr = _Port(f"{name}_wr", shape, depth, shape.length)
        self.rd = _Port(f"{name}_rd", shape, depth, 1)
        self.rd.data = self.port.r_data
        self.rd2 = None
        self.wr_sel = Signal(name=f"{name}_wr_sel")
        m.d.comb += [self.port.addr.eq(Mux(self.wr_sel, self.wr.addr, self.rd.addr)),
                     self.port.r_en.eq(self.rd.en), self.port.w_en.eq(self.wr.en),
                     self.port.w_data.eq(self.wr.data)]


class Core(wiring.Component):
    """One core: axon buffer, dendrite, soma, plasticity engine, controller.

    Parameters
    ----------
    cfg : CoreConfig
        Geometry and widths.
    single_port : bool
        Keep W and H in single-port RAM (`rtl.spram.SinglePort`: the iCE40 UP5K's SPRAM),
        at the price of LEARN(t) no longer overlapping INTEGRATE(t+1) (``docs/core.md``,
        "Single-port W and H"). What the core computes is the same.
    lean : bool or None
        Leave out the timing registers that cost flip-flops and cycles but no function:
        the bus read's register per region (a read takes a cycle less), the held bus
        ``AXON`` write, the bus memory write a cycle after its strobe, the registered
        ``busy`` of register writes, and the distributed RAM of ``t_last`` and the
        touched marks. ``None`` chooses by platform: lean on the iCE40, whose LCs run out
        before its clock does. What the core computes is the same.

    Members
    -------
    bus : Out(bus.Signature())
        Configuration/memory port, addresses per :mod:`glocal.golden.memmap` (core 0).
        Memories other than ``AXON`` are reached only while the core is not busy
        (requests wait); registers can be read at any time.
    ctrl : Out(bus.Control())
        Step control. ``ready`` rises only once every spike of the step has been taken
        from ``spikes``; ``busy`` stays high until then too.
    spikes : Out(noc.neuron_stream(cfg))
        Every neuron that fired this step, once each, in increasing order.
    axons : In(noc.axon_stream(cfg))
        Axon ids to set in the pending input bank (the one the next ``start`` scans), as a
        bus write of 1 to ``Region.AXON`` would. ``ready`` is low while the scanner clears
        a word or a bus ``AXON`` write is taken.
    """

    def __init__(self, *, cfg: CoreConfig, single_port: bool = False,
                 lean: bool | None = None):
        self._cfg = cfg
        self._single_port = single_port
        self._lean = lean
        super().__init__({"bus": Out(BusSignature()), "ctrl": Out(Control()),
                          "spikes": Out(neuron_stream(cfg)), "axons": In(axon_stream(cfg))})

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        A, N, L, G = cfg.axons, cfg.neurons, cfg.lanes, cfg.groups
        # Hybrid coding: with act_bits > 1 an active row carries its input value x through
        # the lists and pipelines; a spike-only core stores none (x = 1).
        xb = value_bits(cfg)
        listed = data.StructLayout({"row": range(A), "x": unsigned(xb)})

        sp = self._single_port
        synapses = _SpRam if sp else _Ram
        # H: two lane groups per word and one read port, shared by INTEGRATE and LEARN
        # (each reads a word for two groups): one block-RAM copy.
        ram = {name: synapses(m, name, shape, depth)
               for name, (shape, depth) in synapse_memories(cfg).items()}
        ram |= {
            "acc_w": _Ram(m, "acc_w", lanes_of(cfg, cfg.acc_bits), G, transparent=True),
            "acc_h": _Ram(m, "acc_h", lanes_of(cfg, cfg.acc_bits), G, transparent=True),
            "bias": _Ram(m, "bias", lanes_of(cfg, cfg.bias_bits), G),
            "theta": _Ram(m, "theta", lanes_of(cfg, cfg.theta_bits), G),
            "u": _Ram(m, "u", lanes_of(cfg, cfg.u_bits), G),
            "s": _Ram(m, "s", lanes_of(cfg, cfg.act_bits, sign=False), G),
            "f": _Ram(m, "f", lanes_of(cfg, fixed.F_BITS), G),
            "t_last": _Ram(m, "t_last", unsigned(cfg.ts_bits), A, gran=False, reads=2),
            "beta": _Ram(m, "beta", signed(cfg.beta_bits), A, gran=False),
            "p_table": _Ram(m, "p_table", unsigned(cfg.p_bits), 1 << cfg.ts_bits, gran=False,
                            reads=2),
            # Active rows in increasing order, for LEARN. Two banks: step t+1 fills one
            # while learn(t) reads the other.
            "active": _Ram(m, "active", listed, 2 << max(1, ceil_log2(A)), gran=False),
            # The same rows in INTEGRATE's order: the rows learn(t) does not write from
            # the bottom up, the others (in increasing order) from the top down.
            "order": _Ram(m, "order", listed, 1 << max(1, ceil_log2(A)), gran=False),
            # Rows learn(t) has still to write, one bank per active-list bank: set as
            # SCAN(t) lists them, cleared as learn(t) writes them.
            "touched0": _Ram(m, "touched0", 1, A, gran=False),
            "touched1": _Ram(m, "touched1", 1, A, gran=False),
        }
        if cfg.plastic_mask:
            # Plasticity enables, W's order (one lane group per word), read by LEARN only.
            ram["enable"] = _Ram(m, "enable", lanes_of(cfg, 1, sign=False), A * G)
        lean = resolve_lean(self._lean, platform)
        if not lean:
            # Memories of a few bits a row whose words feed arithmetic or an address in
            # the cycle they are read (``t − t_last`` → P's address; the touched marks →
            # the order list's address) in distributed RAM: its output register comes out
            # 0.5 ns after the clock, a block RAM's 5.8 ns on the ECP5.
            for name in ("t_last", "touched0", "touched1"):
                ram[name].mem.attrs["ram_style"] = "distributed"
        if isinstance(platform, SiliconBluePlatform):
            # iCE40: Yosys would build the smallest memories (touched0/1, s: A or N bits)
            # from flip-flops and LUTs, about 220 of the UP5K's 5,280 LCs for a 32×32
            # core; as block RAM they cost three of its 30 EBRs.
            for r in ram.values():
                if isinstance(r, _Ram):
                    r.mem.attrs["ram_style"] = "block"
        m.submodules.f_rom = f_rom = Memory(shape=signed(fixed.F_BITS), depth=fixed.F_SIZE,
                                            init=[int(v) for v in fixed.F_TABLE])
        f_rd = [f_rom.read_port() for _ in range(L)]

        m.submodules.axon = axon = Axon(cfg=cfg)
        m.submodules.regs = regs = Regs(cfg=cfg, read_latency=2 if lean else 3)
        wiring.connect(m, wiring.flipped(self.bus), regs.bus)
        m.submodules.dendrite = dend = Dendrite(cfg=cfg)
        m.submodules.plastic = plas = Plastic(cfg=cfg)
        somas = [Soma(cfg=cfg) for _ in range(L)]
        for l, soma in enumerate(somas):
            m.submodules[f"soma{l}"] = soma

        r = regs   # register values: r.t, r.alpha, ...
        abits = max(1, ceil_log2(A))
        st = {name: Signal(name=f"st_{name}") for name in
              ("idle", "integ", "wait", "fire")}

        # -- step state (main sequence) ------------------------------------------------------
        learn_now = Signal()            # LEARN register latched at start (0 in ANN mode)
        ann_now = Signal()              # MODE register latched at start
        n_active = Signal(range(A + 1))
        refresh_hit = Signal()          # the refresh row is also active
        bank = Signal()                 # active-list bank of this step

        # -- learn state: learn(t) runs on while step t+1 scans and integrates ---------------
        l_run = Signal()
        l_t = Signal(cfg.ts_bits)       # t of the step being learned
        l_refresh = Signal(range(A))
        l_nohit = Signal()              # the refresh row is not active: learn it first
        l_rows = Signal(range(A + 2))
        l_bank = Signal()
        l_ref_wait = Signal()           # the refresh row (not active) is still to be written
        l_front = Signal(range(A + 1))  # every active row below this has been learned
        l_write = Signal()              # learn writes a lane group of H (its last stage)
        l_wr_last = Signal()            # ... the last one of its row
        l_wr_row = Signal(range(A))
        l_hread = Signal()              # learn reads an H word next cycle

        # -- scan: the scanner's rows go to the active list as they are found, marked
        # ``common`` if learn(t) (of the step before) has them to write --------------------
        sc_v = Signal()
        sc_row = Signal(range(A))
        sc_x = Signal(unsigned(xb))
        m.d.sync += [sc_v.eq(st["integ"] & axon.rows.valid),
                     sc_row.eq(axon.rows.payload.index), sc_x.eq(axon.rows.payload.value)]
        touched = [ram["touched0"], ram["touched1"]]
        for b, t_ram in enumerate(touched):
            m.d.comb += t_ram.rd.addr.eq(axon.rows.payload.index)
            with m.If(sc_v & learn_now & (bank == b)):
                m.d.comb += [t_ram.wr.addr.eq(sc_row), t_ram.wr.data.eq(1), t_ram.wr.en.eq(1)]
            with m.Elif(l_write & l_wr_last & (l_bank == b)):
                m.d.comb += [t_ram.wr.addr.eq(l_wr_row), t_ram.wr.data.eq(0), t_ram.wr.en.eq(1)]
        sc_common = Mux(l_bank, touched[1].rd.data, touched[0].rd.data)
        n_free = Signal(range(A + 1))   # rows of the order list learn(t) does not write
        n_common = Signal(range(A + 1))  # ... and rows it does
        top = (1 << abits) - 1
        m.d.comb += [ram["order"].wr.addr.eq(Mux(sc_common, top - n_common, n_free)),
                     ram["order"].wr.data.eq(Cat(sc_row, sc_x)), ram["order"].wr.en.eq(sc_v)]
        with m.If(sc_v):
            m.d.sync += n_active.eq(n_active + 1)
            with m.If(sc_common):
                m.d.sync += n_common.eq(n_common + 1)
            with m.Else():
                m.d.sync += n_free.eq(n_free + 1)

        # -- integrate pipeline: list → t_last → P, W, H, acc → acc --------------------------
        # A new row is taken from the rows learn(t) does not write while there are any, so
        # the others come as late as possible, when learn(t) has most likely written them.
        k_free = Signal(range(A + 1))
        k_common = Signal(range(A + 1))
        ig = Signal(range(G + 1))
        has_free, has_common = k_free < n_free, k_common < n_common
        row_common = Signal()           # the row in progress came from the common end
        i_from_common = Signal()
        m.d.comb += i_from_common.eq(Mux(ig == 0, ~has_free, row_common))
        i_stall = Signal()
        i_issue = Signal()
        m.d.comb += i_issue.eq(st["integ"] & ((ig != 0) | has_free | has_common) & ~i_stall)
        with m.If(i_issue):
            m.d.sync += row_common.eq(i_from_common)
            with m.If(ig == G - 1):
                m.d.sync += ig.eq(0)
                with m.If(i_from_common):
                    m.d.sync += k_common.eq(k_common + 1)
                with m.Else():
                    m.d.sync += k_free.eq(k_free + 1)
            with m.Else():
                m.d.sync += ig.eq(ig + 1)
        m.d.comb += [
            ram["order"].rd.addr.eq(Mux(i_from_common, top - k_common, k_free)),
            ram["order"].rd.en.eq(~i_stall),
        ]
        # ia: the order list read; i0: its row registered, then checked. A block RAM's
        # output is slow (5.8 ns on the ECP5), too slow to feed the hazard check and the
        # stall it drives in one cycle. A stall holds both stages: the list's read port
        # (its enable) keeps ia's row, i0 its registers.
        ia = {"v": Signal(), "g": Signal(range(G)), "first": Signal(), "common": Signal()}
        with m.If(~i_stall):
            m.d.sync += [ia["v"].eq(i_issue), ia["g"].eq(ig),
                         ia["first"].eq((k_free == 0) & (k_common == 0)),
                         ia["common"].eq(i_from_common)]
        i0 = {key: Signal.like(sig, name=f"i0_{key}") for key, sig in ia.items()}
        i0["row"] = Signal(range(A), name="i0_row")
        i0["x"] = Signal(unsigned(xb), name="i0_x")
        with m.If(~i_stall):
            m.d.sync += [i0[key].eq(ia[key]) for key in ia]
            m.d.sync += [i0["row"].eq(ram["order"].rd.data.row),
                         i0["x"].eq(ram["order"].rd.data.x)]
        i_row = i0["row"]
        # Row hazard: read a row only once learn(t) has written it. Learn(t) writes its
        # active rows (``common`` ones) in increasing order, after the refresh row (when it
        # is not active); every other row may be read at once.
        unsafe = (i0["common"] & (i_row >= l_front)) | (l_ref_wait & (i_row == l_refresh))
        # H port: a lane group reads its H word unless its pair's read (the group just
        # before, same row) brought it; when LEARN reads in the same cycle, INTEGRATE waits.
        i_word = Signal(range(A * G))
        i_hread = Signal()
        m.d.comb += [i_word.eq(i_row * G + i0["g"]), i_hread.eq(~i_word[0] | (i0["g"] == 0))]
        if sp:
            # One port for H: INTEGRATE(t+1) waits until LEARN(t) has written its last word.
            m.d.comb += i_stall.eq(i0["v"] & l_run)
        else:
            m.d.comb += i_stall.eq(i0["v"] & ((l_run & unsafe) | (i_hread & l_hread)))
        i1 = {"v": Signal(), "g": Signal(range(G)), "first": Signal(),
              "word": Signal(range(A * G)), "hread": Signal(), "x": Signal(unsigned(xb))}
        i2 = {key: Signal.like(sig, name=f"i2_{key}") for key, sig in i1.items()}
        m.d.sync += [i1["v"].eq(i0["v"] & ~i_stall), i1["g"].eq(i0["g"]),
                     i1["first"].eq(i0["first"]), i1["word"].eq(i_word),
                     i1["hread"].eq(i_hread), i1["x"].eq(i0["x"])]
        m.d.sync += [i2[key].eq(i1[key]) for key in i1]
        # i2 hands the words read to the dendrite; it reads the accumulators one stage
        # before it adds to them (``i_acc``) and the sums are written at its last stage
        # (``i_sum``). The accumulator read port is transparent to the write port, so a
        # lane group integrated on consecutive cycles (G = 1) reads the sum just written:
        # no forwarding path is needed.
        i_stages = [ia, i0, i1, i2]
        for k in range(3, 3 + dendrite_latency(cfg)):
            i_stages.append(_later(m, i_stages[-1], f"i{k}", ("v", "g", "first")))
        i_acc, i_sum = i_stages[-2], i_stages[-1]
        i_busy = Signal()
        m.d.comb += i_busy.eq(has_free | has_common | Cat(i["v"] for i in i_stages).any())

        # -- learn pipeline: list → t_last → P, H, beta, f → H, t_last -----------------------
        lk = Signal(range(A + 2))
        lg = Signal(range(G + 1))
        l_issue = Signal()
        l_hold = Signal()               # single port: stage 0 waits, its read would meet a write
        m.d.comb += l_issue.eq(l_run & (lk < l_rows) & ~l_hold)
        with m.If(l_issue):
            with m.If(lg == G - 1):
                m.d.sync += [lg.eq(0), lk.eq(lk + 1)]
            with m.Else():
                m.d.sync += lg.eq(lg + 1)
        # la: the active list read; l0: its row registered (as in INTEGRATE, the block
        # RAM's output feeds only a register). ``l_hold`` (single port) holds both, and
        # the list's read port (its enable) keeps la's row.
        la = {"v": Signal(), "g": Signal(range(G)), "ref": Signal(), "final": Signal()}
        with m.If(~l_hold):
            m.d.sync += [la["v"].eq(l_issue), la["g"].eq(lg),
                         la["ref"].eq(l_nohit & (lk == 0)), la["final"].eq(lk + 1 == l_rows)]
        l0 = {key: Signal.like(sig, name=f"l0_{key}") for key, sig in la.items()}
        l0["row"] = Signal(range(A), name="l0_row")
        l0["x"] = Signal(unsigned(xb), name="l0_x")
        with m.If(~l_hold):
            m.d.sync += [l0[key].eq(la[key]) for key in la]
            m.d.sync += [l0["row"].eq(Mux(la["ref"], l_refresh, ram["active"].rd.data.row)),
                         l0["x"].eq(ram["active"].rd.data.x)]
        l_row = l0["row"]
        l_word = Signal(range(A * G))
        m.d.comb += [l_word.eq(l_row * G + l0["g"]),
                     l_hread.eq(l0["v"] & (~l_word[0] | (l0["g"] == 0)))]
        l1 = {"v": Signal(), "g": Signal(range(G)), "ref": Signal(), "final": Signal(),
              "last": Signal(), "hread": Signal(),
              "row": Signal(range(A)), "word": Signal(range(A * G)), "x": Signal(unsigned(xb))}
        l2 = {key: Signal.like(sig, name=f"l2_{key}") for key, sig in l1.items()}
        m.d.sync += [l1["v"].eq(l0["v"] & ~l_hold), l1["g"].eq(l0["g"]), l1["ref"].eq(l0["ref"]),
                     l1["final"].eq(l0["final"]), l1["hread"].eq(l_hread),
                     l1["last"].eq(l0["g"] == G - 1), l1["row"].eq(l_row),
                     l1["word"].eq(l_word),
                     l1["x"].eq(l0["x"])]
        m.d.sync += [l2[key].eq(l1[key]) for key in l1]
        # beta and f go into the plasticity engine at l1 (read at l0), P, H, x and the
        # enables at l2; the new H comes out at ``l_wr``, which writes it, and with it
        # the row's bookkeeping (t_last, touched, l_front, l_ref_wait) moves.
        l_stages = [la, l0, l1, l2]
        assert PLASTIC_STAGE["beta"] == PLASTIC_STAGE["f"] == 0 and PLASTIC_STAGE["p"] == 1
        for k in range(3, 2 + PLASTIC_STAGE["h_new"]):
            l_stages.append(_later(m, l_stages[-1], f"l{k}",
                                   ("v", "ref", "final", "last", "row", "word", "hread")))
        l_wr = l_stages[-1]
        m.d.comb += [l_write.eq(l_run & l_wr["v"]), l_wr_last.eq(l_wr["last"]),
                     l_wr_row.eq(l_wr["row"])]
        with m.If(l_write & l_wr["last"]):
            with m.If(l_wr["ref"]):
                m.d.sync += l_ref_wait.eq(0)
            with m.Elif(l_wr["final"]):
                m.d.sync += l_front.eq(A)
            with m.Else():
                m.d.sync += l_front.eq(l_wr["row"] + 1)
        l_pending = Const(0)
        if sp:
            h_write, l_pending = self._hebb_writes(m, l_wr, len(l_stages) - 2, plas.h_new,
                                                   l_hread, l_hold)
        with m.If(l_run & ~l_issue & ~Cat(st_["v"] for st_ in l_stages).any() & ~l_pending):
            m.d.sync += l_run.eq(0)

        m.d.comb += [
            dend.p.eq(ram["p_table"].rd.data),
            dend.w.eq(ram["weight"].rd.data),
            dend.h.eq(self._h_group(m, ram["hebb"].rd.data, i2)),
            dend.acc_w.eq(ram["acc_w"].rd.data),
            dend.acc_h.eq(ram["acc_h"].rd.data),
            dend.first.eq(i_sum["first"]),
            dend.x.eq(i2["x"] if xb else 1),
            plas.p.eq(ram["p_table"].rd2.data),
            plas.h.eq(self._h_group(m, ram["hebb"].rd.data, l2)),
            plas.beta.eq(ram["beta"].rd.data),
            plas.f.eq(ram["f"].rd.data),
            # The refresh row (when not active) learns with x = 0.
            plas.x.eq(Mux(l2["ref"], 0, l2["x"] if xb else 1)),
            plas.h_max.eq(r.h_max),
        ]
        if cfg.plastic_mask:
            m.d.comb += plas.enable.eq(ram["enable"].rd.data)

        # -- fire pipeline -------------------------------------------------------------------
        # Fixed latency, one lane group per cycle (stage k holds the group issued k cycles
        # before): s1 memory words registered; s2 α·acc_h and acc_w + bias registered; s3
        # the current (one add chain) into the soma; s3 + LATENCY (= FIRE_OUT) the soma
        # results: u and
        # s written, output word into the FIFO, u − θ; FIRE_OUT + 1 the f index (shift,
        # clamp); FIRE_OUT + 2 its ROM read; FIRE_OUT + 3 f written. Each stage holds at
        # most one multiplier or one add chain (docs/core.md, "Pipelines").
        # A group is issued only if the FIFO has room for it and for the groups ahead of it.
        spike_fifo = _Fifo(m, "spike_fifo", L * cfg.act_bits + max(1, ceil_log2(G)),
                           SPIKE_FIFO_DEPTH)
        if isinstance(platform, SiliconBluePlatform):
            # One EBR instead of ~150 LCs of flip-flops and multiplexers (lanes 1).
            spike_fifo.mem.attrs["ram_style"] = "block"
        fg = Signal(range(G + 1))
        f_issue = Signal()
        fs = [None] + [{"v": Signal(name=f"f{k}_v"),
                        "g": Signal(range(G), name=f"f{k}_g", reset_less=True)}
                       for k in range(1, FIRE_OUT + 4)]
        in_flight = sum(fs[k]["v"] for k in range(1, FIRE_OUT + 1))
        room = spike_fifo.level + in_flight < SPIKE_FIFO_DEPTH
        m.d.comb += f_issue.eq(st["fire"] & (fg < G) & room)
        with m.If(f_issue):
            m.d.sync += fg.eq(fg + 1)
        m.d.sync += [fs[1]["v"].eq(f_issue), fs[1]["g"].eq(fg)]
        for k in range(2, FIRE_OUT + 4):
            m.d.sync += [fs[k]["v"].eq(fs[k - 1]["v"]), fs[k]["g"].eq(fs[k - 1]["g"])]
        f_out, f_wr = fs[FIRE_OUT], fs[FIRE_OUT + 3]
        fire_busy = Signal()
        m.d.comb += fire_busy.eq((st["fire"] & (fg < G)) | Cat(f["v"] for f in fs[1:]).any())

        # n_active is settled before FIRE (INTEGRATE is over): registered, it does not
        # reach the multipliers' inputs in the cycle it is compared.
        any_active = Signal()
        m.d.sync += any_active.eq(n_active != 0)
        outs = []           # each lane's output at FIRE_OUT: a spike, or an ANN activation
        for l, soma in enumerate(somas):
            # s1: the accumulators (zero when no row was integrated) and bias, registered
            # as read.
            words = {}
            for name in ("acc_w", "acc_h", "bias"):
                data_ = ram[name].rd.data[l]
                words[name] = Signal(data_.shape(), name=f"f2_{name}{l}", reset_less=True)
                m.d.sync += words[name].eq(
                    data_ if name == "bias" else Mux(any_active, data_, 0))
            # s2: acc_w + bias and α·acc_h.
            wb_next = words["acc_w"] + words["bias"]
            ah_next = r.alpha * words["acc_h"]
            wb = Signal(wb_next.shape(), name=f"f3_wb{l}", reset_less=True)
            ah = Signal(ah_next.shape(), name=f"f3_ah{l}", reset_less=True)
            m.d.sync += [wb.eq(wb_next), ah.eq(ah_next)]
            # s3 (FIRE_CURRENT): I = acc_w + bias + rnd(α·acc_h), u and s (read a stage
            # before), into the soma.
            cur = Signal(signed(cfg.i_bits), name=f"current{l}")
            m.d.comb += cur.eq(wb + rshift_round(ah, cfg.alpha_frac))
            m.d.comb += [
                soma.vth_shift.eq(r.vth_shift),
                soma.decay.eq(r.decay),
                soma.i.valid.eq(fs[FIRE_CURRENT]["v"]),
                soma.i.payload.current.eq(cur),
                soma.i.payload.u.eq(ram["u"].rd.data[l]),
                # A nonzero activation left by an ANN step resets like a spike.
                soma.i.payload.s.eq(ram["s"].rd.data[l].any()),
                soma.o.ready.eq(1),
            ]
            # FIRE_OUT: u − θ registered; FIRE_OUT + 1: the f index registered (a variable
            # shift and a clamp); FIRE_OUT + 2: its ROM read (the ROM may be logic).
            diff = Signal(signed(cfg.u_bits + 1), name=f"f{FIRE_OUT + 1}_diff{l}",
                          reset_less=True)
            m.d.sync += diff.eq(soma.o.payload.u - ram["theta"].rd.data[l])
            idx = Signal(8, name=f"f{FIRE_OUT + 2}_idx{l}", reset_less=True)
            m.d.sync += idx.eq(trace_select(m, cfg, diff, r.vth_shift))
            m.d.comb += f_rd[l].addr.eq(idx)
            if xb:
                # ANN mode: no leak (decay 0, so the soma's u is sat(I)), and the output is
                # the activation, computed beside the soma (the current registered, then
                # the shift and clamp) and out with it at FIRE_OUT.
                cur_r = Signal(signed(cfg.i_bits), name=f"f{FIRE_CURRENT + 1}_current{l}",
                               reset_less=True)
                act = Signal(cfg.act_bits, name=f"f{FIRE_CURRENT + 2}_act{l}", reset_less=True)
                m.d.sync += [cur_r.eq(cur), act.eq(activate(cur_r, r.out_shift, cfg.act_bits))]
                for k in range(FIRE_CURRENT + 3, FIRE_OUT + 1):  # … to the soma's output stage
                    act_k = Signal.like(act, name=f"f{k}_act{l}")
                    m.d.sync += act_k.eq(act)
                    act = act_k
                out = Signal(cfg.act_bits, name=f"out{l}")
                m.d.comb += out.eq(Mux(ann_now, act, soma.o.payload.s))
                with m.If(ann_now):
                    m.d.comb += soma.decay.eq(0)
                outs.append(out)
            else:
                outs.append(soma.o.payload.s)
        spike_pending = self._spike_stream(m, spike_fifo, outs, f_out["v"], f_out["g"])

        # -- memory ports: the bus owns them while idle, the passes otherwise -----------------
        # The passes own the memory ports while they run; a step is busy until its last
        # spike has been taken too. Ownership follows ``running`` a cycle late
        # (``owned``, a register): a step's first cycle (BEGIN) uses no port, and the cycle
        # after its last uses none either, so the bus may keep the ports for the one and
        # take them only in the other, and neither its strobe nor the ports' multiplexers
        # wait for the passes' state to settle (the chip's clock, ``docs/boards.md``).
        running = Signal()
        owned = Signal()
        busy = Signal()
        m.d.comb += [running.eq(~st["idle"] | l_run), busy.eq(running | spike_pending)]
        m.d.sync += owned.eq(running)
        bus_held = self._bus_ports(m, regs.mem, ram, axon, ~owned, running, lean)
        if sp:
            with m.If(~owned):
                for name, region in (("weight", Region.WEIGHT), ("hebb", Region.HEBB)):
                    m.d.comb += ram[name].rd.en.eq(regs.mem.read & (regs.mem.region == region))
        rd = {name: ram[name].rd for name in ram}
        rd2 = {name: ram[name].rd2 for name in ram if ram[name].rd2 is not None}
        wr = {name: ram[name].wr for name in ram}
        # Second read ports serve only the learn pass.
        m.d.comb += [
            rd["active"].addr.eq(Cat((lk - l_nohit)[:abits], l_bank)),
            rd["active"].en.eq(~l_hold),
            rd2["t_last"].addr.eq(l_row),
            rd2["p_table"].addr.eq((l_t - rd2["t_last"].data)[:cfg.ts_bits]),
        ]
        with m.If(owned):
            # SCAN appends to this step's bank of the active list.
            m.d.comb += [wr["active"].addr.eq(Cat(n_active[:abits], bank)),
                         wr["active"].data.eq(Cat(sc_row, sc_x)),
                         wr["active"].en.eq(sc_v)]
            m.d.comb += [
                rd["t_last"].addr.eq(i_row),
                rd["p_table"].addr.eq((r.t - rd["t_last"].data)[:cfg.ts_bits]),
                rd["weight"].addr.eq(i1["word"]),
                rd["hebb"].addr.eq(Mux(l1["v"] & l1["hread"], l1["word"], i1["word"]) >> 1),
                # beta and f one stage ahead of P and H (see Plastic's STAGE).
                rd["beta"].addr.eq(l_row),
                rd["f"].addr.eq(l0["g"]),
            ]
            if "enable" in ram:
                m.d.comb += rd["enable"].addr.eq(l1["word"])
            with m.If(st["fire"]):
                # Each word is read the stage before the one that uses it: no register
                # carries it down the pipeline.
                for name in ("acc_w", "acc_h", "bias"):
                    m.d.comb += rd[name].addr.eq(fg)
                m.d.comb += [rd["u"].addr.eq(fs[FIRE_CURRENT - 1]["g"]),
                             rd["s"].addr.eq(fs[FIRE_CURRENT - 1]["g"]),
                             rd["theta"].addr.eq(fs[FIRE_OUT - 1]["g"])]
            with m.Else():
                m.d.comb += [rd["acc_w"].addr.eq(i_acc["g"]), rd["acc_h"].addr.eq(i_acc["g"])]
            integ_wr = st["integ"] & i_sum["v"]
            m.d.comb += [
                wr["acc_w"].addr.eq(i_sum["g"]), wr["acc_w"].data.eq(dend.sum_w),
                wr["acc_w"].en.eq(integ_wr.replicate(L)),
                wr["acc_h"].addr.eq(i_sum["g"]), wr["acc_h"].data.eq(dend.sum_h),
                wr["acc_h"].en.eq(integ_wr.replicate(L)),
                wr["t_last"].addr.eq(l_wr["row"]), wr["t_last"].data.eq(l_t),
                wr["t_last"].en.eq(l_write & l_wr["last"]),
            ]
            if sp:
                # Read enables: a pass reads W or H only in the cycles whose data it uses.
                m.d.comb += [
                    rd["weight"].en.eq(i1["v"]),
                    rd["hebb"].en.eq((l1["v"] & l1["hread"]) | (i1["v"] & i1["hread"])),
                    wr["hebb"].addr.eq(h_write["addr"]), wr["hebb"].data.eq(h_write["data"]),
                    wr["hebb"].en.eq(Mux(h_write["v"], h_write["en"], 0)),
                    # LEARN's merged write (registered) takes the address; W is written by
                    # the bus only, whose write and read addresses are the same.
                    ram["hebb"].wr_sel.eq(h_write["v"]),
                ]
            else:
                m.d.comb += [
                    wr["hebb"].addr.eq(l_wr["word"] >> 1),
                    wr["hebb"].data.eq(Cat(plas.h_new, plas.h_new)),
                    wr["hebb"].en.eq(Mux(l_wr["word"][0], Cat(C(0, L), l_write.replicate(L)),
                                         l_write.replicate(L))),
                ]
            # Fire pipeline: soma results at FIRE_OUT, f three stages later.
            for l, soma in enumerate(somas):
                m.d.comb += [wr["u"].data[l].eq(soma.o.payload.u),
                             wr["s"].data[l].eq(outs[l]),
                             wr["f"].data[l].eq(f_rd[l].data)]
            m.d.comb += [
                wr["u"].addr.eq(f_out["g"]), wr["u"].en.eq(f_out["v"].replicate(L)),
                wr["s"].addr.eq(f_out["g"]), wr["s"].en.eq(f_out["v"].replicate(L)),
                wr["f"].addr.eq(f_wr["g"]), wr["f"].en.eq(f_wr["v"].replicate(L)),
            ]

        # -- counters ------------------------------------------------------------------------
        with m.If(f_out["v"]):
            m.d.comb += regs.add_spikes_out.eq(sum(out.any() for out in outs))
        with m.If(l_write):
            m.d.comb += regs.add_plastic_updates.eq(L)
        m.d.comb += [
            regs.add_cyc_integrate.eq(st["integ"]),
            regs.add_cyc_fire.eq(st["fire"]),
            regs.add_cyc_learn.eq(l_run),
            regs.add_cyc_step.eq(~self.ctrl.ready),
        ]

        # -- the step sequence ---------------------------------------------------------------
        m.d.comb += [self.ctrl.ready.eq(st["idle"] & ~spike_pending & ~bus_held),
                     self.ctrl.busy.eq(busy)]
        # Register writes wait while a step runs. Unless ``lean``, on ``busy`` registered,
        # and set already in the cycle a step is started (so that ``BEGIN``, which reads
        # the registers and advances ``t``, never meets a write); it falls a cycle after
        # ``busy``.
        if lean:
            m.d.comb += regs.busy.eq(busy)
        else:
            regs_busy = Signal()
            m.d.sync += regs_busy.eq(busy | (self.ctrl.start & self.ctrl.ready))
            m.d.comb += regs.busy.eq(regs_busy)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += st["idle"].eq(1)
                # ``start`` comes from outside the core (the host, through the array):
                # taken into the state register alone, acted on the cycle after.
                with m.If(self.ctrl.start & self.ctrl.ready):
                    m.next = "BEGIN"
            with m.State("BEGIN"):
                m.d.comb += axon.start.eq(1)
                learn = r.learn & ~r.mode if xb else r.learn
                m.d.sync += [learn_now.eq(learn), ann_now.eq(r.mode if xb else 0),
                             n_active.eq(0), refresh_hit.eq(0),
                             bank.eq(~bank), ig.eq(0), n_free.eq(0), n_common.eq(0),
                             k_free.eq(0), k_common.eq(0)]
                with m.If(learn):
                    m.d.comb += regs.t_next.eq(1)
                m.next = "INTEG"
            with m.State("INTEG"):
                # The scanner runs ahead of the integrate pipeline, which takes each row
                # as soon as it is listed.
                m.d.comb += [st["integ"].eq(1), axon.rows.ready.eq(1)]
                with m.If(axon.rows.valid):
                    m.d.comb += [regs.add_spikes_in.eq(1), regs.add_syn_ops.eq(N)]
                    with m.If(axon.rows.payload.index == r.refresh):
                        m.d.sync += refresh_hit.eq(1)
                with m.If(axon.idle & ~sc_v & ~i_busy):
                    m.next = "WAIT"
            with m.State("WAIT"):
                # f of the previous step is still being read by its learn pass.
                m.d.comb += st["wait"].eq(1)
                with m.If(~l_run):
                    m.d.sync += fg.eq(0)
                    m.next = "FIRE"
            with m.State("FIRE"):
                m.d.comb += st["fire"].eq(1)
                with m.If(~fire_busy):
                    m.d.comb += regs.add_steps.eq(1)
                    with m.If(learn_now):
                        # Launch learn(t); the refresh row moves on for the next step.
                        m.d.comb += regs.refresh_next.eq(1)
                        m.d.sync += [l_run.eq(1), lk.eq(0), lg.eq(0), l_t.eq(r.t),
                                     l_refresh.eq(r.refresh), l_nohit.eq(~refresh_hit),
                                     l_rows.eq(n_active + ~refresh_hit), l_bank.eq(bank),
                                     l_ref_wait.eq(~refresh_hit),
                                     l_front.eq(Mux(n_active == 0, A, 0))]
                    m.next = "IDLE"
        return m

    def _hebb_writes(self, m, l_wr, k, h_new, l_hread, l_hold):
        """Single-port H: LEARN's updated lane groups, merged into one write per word.

        ``l_wr`` is the stage ``k`` at which ``h_new`` is out. A word read at cycle ``c``
        (its first lane group at stage 1) is written at ``c + k + 1``, whole (two groups)
        or the half LEARN has (a group alone in its word: a row's first or last group when
        ``G`` is odd). Stage 0 holds a group that would read in a cycle with a write
        (``l_hold``), so reads and writes never meet. With ``k`` even and ``G`` even a
        word is read every second cycle and written in the others: no cycle is lost.

        Returns the write (``v``, ``addr``, ``data``, ``en``) and a signal that is high
        while a group is still to be written.
        """
        assert k % 2 == 0, "the write must fall between two reads of the word pairs"
        L, hb = self._cfg.lanes, self._cfg.h_bits
        nxt = {"v": Signal(name=f"l{k + 1}_v"), "hread": Signal(name=f"l{k + 1}_hread"),
               "word": Signal.like(l_wr["word"], name=f"l{k + 1}_word"),
               "h": Signal(L * hb, name=f"l{k + 1}_h")}
        m.d.sync += [nxt["v"].eq(l_wr["v"]), nxt["hread"].eq(l_wr["hread"]),
                     nxt["word"].eq(l_wr["word"]), nxt["h"].eq(h_new)]
        write = {"v": Signal(name="hw_v"),
                 "addr": Signal(len(l_wr["word"]) - 1, name="hw_addr"),
                 "data": Signal(2 * L * hb, name="hw_data"), "en": Signal(2 * L, name="hw_en")}
        # At stage k + 1 the group that read the word; beside it, at stage k, its partner
        # (the upper half) if it has one: a group that does not read follows its partner
        # at once.
        partner = l_wr["v"] & ~l_wr["hread"]
        upper = nxt["word"][0]
        m.d.sync += [
            write["v"].eq(nxt["v"] & nxt["hread"]),
            write["addr"].eq(nxt["word"] >> 1),
            write["data"].eq(Cat(nxt["h"], Mux(upper, nxt["h"], h_new))),
            write["en"].eq(Cat((~upper).replicate(L), (upper | partner).replicate(L))),
        ]
        # Stage 0's group would read next cycle, when the write of stage k + 1's goes in.
        m.d.comb += l_hold.eq(l_hread & nxt["v"] & nxt["hread"])
        pending = Signal()
        m.d.comb += pending.eq(nxt["v"] | write["v"])
        return write, pending

    def _h_group(self, m, word, stage):
        """The lane group of ``stage`` (a pipeline stage's signals) out of the H word read.

        A group that read the word takes its half; the other group of a pair takes the
        upper half kept from its partner's read the cycle before (the port has served the
        other pass since).
        """
        L, hb = self._cfg.lanes, self._cfg.h_bits
        raw = Value.cast(word)
        kept = Signal(L * hb)
        with m.If(stage["v"] & stage["hread"]):
            m.d.sync += kept.eq(raw[L * hb:])
        group = Signal(L * hb)
        m.d.comb += group.eq(Mux(stage["hread"],
                                 Mux(stage["word"][0], raw[L * hb:], raw[:L * hb]), kept))
        return group

    def _spike_stream(self, m, fifo, outs, valid, group):
        """Queue FIRE's output words and offer their nonzero outputs on ``spikes``, one per
        cycle (neuron id and value).

        Returns a signal that is high while an output of the step has not been taken yet.
        """
        cfg = self._cfg
        L, ab = cfg.lanes, cfg.act_bits
        word = Cat(*outs)
        m.d.comb += [fifo.w_data.eq(Cat(word, group)),
                     fifo.w_en.eq(valid & Cat(o.any() for o in outs).any())]
        bits = Signal(L)        # nonzero outputs of the word being sent, not yet taken
        values = Signal(L * ab)
        g = Signal.like(group)
        low = Signal(range(L))
        for b in reversed(range(L)):
            with m.If(bits[b]):
                m.d.comb += low.eq(b)
        rest = Signal(L)
        m.d.comb += [
            rest.eq(bits & ~(1 << low)),
            self.spikes.valid.eq(bits.any()),
            self.spikes.payload.neuron.eq(g * L + low),
        ]
        if value_bits(cfg):
            m.d.comb += self.spikes.payload.value.eq(values.word_select(low, ab))
        # The next word is loaded as the last bit of this one is taken: no gap between words.
        with m.If(self.spikes.valid & self.spikes.ready):
            m.d.sync += bits.eq(rest)
        with m.If(~bits.any() | (self.spikes.ready & ~rest.any())):
            m.d.comb += fifo.r_en.eq(1)
            with m.If(fifo.r_rdy):
                head = fifo.r_data[:L * ab]
                m.d.sync += [bits.eq(Cat(head.word_select(k, ab).any() for k in range(L))),
                             values.eq(head), g.eq(fifo.r_data[L * ab:])]
        pending = Signal()
        m.d.comb += pending.eq(bits.any() | fifo.r_rdy)
        return pending

    def _bus_ports(self, m, mem, ram, axon, idle, running, lean):
        """Serve the bus's memory accesses: ``AXON`` at any time, the others while idle.
        Return the flag of an ``AXON`` write held for the axon block (``Const(0)`` if
        ``lean``).

        The ``axons`` stream shares the axon block's write port with the bus (the bus
        first: it takes at most one request in two cycles, so the stream is not starved).

        Entries of lane-wide words are written with a per-lane write enable (no
        read-modify-write) and read by selecting the lane one cycle later.
        """
        cfg = self._cfg
        lane = Signal(ceil_log2(2 * cfg.lanes))     # H words hold two lane groups
        # ``AXON`` writes go to the axon block's write port beside the ``axons`` stream.
        # Unless ``lean``, a write is first taken into a register (``held``), and offered
        # from it until the block takes it: the bus's strobe then ends at that register,
        # not at the axon memory's address through the block's ready and the stream's
        # multiplexer. An ``AXON`` request waits while a write is held, and so does the
        # next step (``ctrl.ready``), so a write answered before ``start`` acts before it.
        wrote = Signal()
        if lean:
            held = Const(0)
            bus_axon = Signal()
            index, value = mem.index, mem.data[:cfg.act_bits]
            m.d.comb += [bus_axon.eq(mem.write & (mem.region == Region.AXON)),
                         mem.stall.eq(Mux(mem.region == Region.AXON,
                                          mem.we & ~axon.set.ready, ~idle)),
                         wrote.eq(mem.write)]
        else:
            held = bus_axon = Signal()
            index, value = Signal.like(mem.index), Signal(cfg.act_bits)
            with m.If(held & axon.set.ready):
                m.d.sync += held.eq(0)
            with m.If(mem.write & (mem.region == Region.AXON)):
                m.d.sync += [held.eq(1), index.eq(mem.index), value.eq(mem.data)]
            # The other memories' writes are done a cycle after their strobe (``wrote``),
            # from the request's registers (held by ``Regs`` until the response): the
            # strobe ends at a register, not at write enables across the core. A request
            # is served only if the ports are the bus's in that cycle and the next.
            m.d.comb += mem.stall.eq(Mux(mem.region == Region.AXON, held, ~idle | running))
            m.d.sync += wrote.eq(mem.write)
        m.d.comb += [
            axon.peek_addr.eq(mem.index),
            axon.set.valid.eq(bus_axon | self.axons.valid),
            self.axons.ready.eq(axon.set.ready & ~bus_axon),
        ]
        with m.If(bus_axon):
            m.d.comb += [axon.set.payload.index.eq(index),
                         axon.set.payload.value.eq(value)]
        with m.Else():
            m.d.comb += [axon.set.payload.index.eq(self.axons.payload.axon),
                         axon.set.payload.value.eq(self.axons.payload.value
                                                   if value_bits(cfg) else 1)]
        read_region = Signal(4)
        read_lane = Signal.like(lane)
        with m.If(mem.read):
            m.d.sync += [read_region.eq(mem.region), read_lane.eq(lane)]
        # A memory the configuration leaves out (``PLASTIC`` without ``cfg.plastic_mask``)
        # has no entries in the memory map either.
        served = {region: name for region, name in _REGION_RAM.items() if name in ram}
        with m.If(idle):
            for region, name in served.items():
                port = ram[name]
                hit = wrote & (mem.region == region)
                if region in _LANE_WIDE:
                    width = region_width(cfg, region)
                    per_word = port.shape.length
                    lb = ceil_log2(per_word)
                    with m.If(mem.region == region):
                        m.d.comb += lane.eq(mem.index[:lb])
                    m.d.comb += [
                        port.rd.addr.eq(mem.index >> lb), port.wr.addr.eq(mem.index >> lb),
                        port.wr.data.eq(mem.data[:width].replicate(per_word)),
                        port.wr.en.eq(Mux(hit, 1 << lane[:lb], 0) if per_word > 1 else hit),
                    ]
                else:
                    m.d.comb += [port.rd.addr.eq(mem.index), port.wr.addr.eq(mem.index),
                                 port.wr.data.eq(mem.data), port.wr.en.eq(hit)]
        # The entry read is selected from its memory word and its region, then registered
        # into ``mem.rdata``. Unless ``lean``, it is first registered per region (a block
        # RAM's output, its lane multiplexer and a 10-way region multiplexer are then not
        # one stage; ``Regs``'s ``read_latency`` 3).
        entry = {}
        for region, name in served.items():
            data = ram[name].rd.data
            if region in _LANE_WIDE:
                per_word = ram[name].shape.length
                data = data[read_lane[:ceil_log2(per_word)]] if per_word > 1 else data[0]
            entry[region] = data
        entry[Region.AXON] = axon.peek_data
        if not lean:
            for region, data in entry.items():
                entry[region] = Signal.like(data, name=f"bus_{region.name.lower()}")
                m.d.sync += entry[region].eq(data)
        with m.Switch(read_region):
            for region, value in entry.items():
                with m.Case(region):
                    m.d.sync += mem.rdata.eq(value)
        return held


def _later(m, stage, name, keys):
    """The ``keys`` of a pipeline stage's signals, registered: the stage after it."""
    nxt = {key: Signal.like(stage[key], name=f"{name}_{key}") for key in keys}
    m.d.sync += [nxt[key].eq(stage[key]) for key in keys]
    return nxt


#: Memories the bus reaches, by region (REGS is the register file, AXON the axon block).
_REGION_RAM = {
    Region.WEIGHT: "weight", Region.HEBB: "hebb", Region.T_LAST: "t_last",
    Region.BETA: "beta", Region.BIAS: "bias", Region.THETA: "theta", Region.U: "u",
    Region.S: "s", Region.P_TABLE: "p_table", Region.PLASTIC: "enable",
}
#: Regions stored ``lanes`` entries per memory word.
_LANE_WIDE = frozenset({Region.WEIGHT, Region.HEBB, Region.BIAS, Region.THETA, Region.U,
                        Region.S, Region.PLASTIC})


def synapse_memories(cfg: CoreConfig) -> dict[str, tuple[data.ArrayLayout, int]]:
    """The shape and depth of the W (``weight``) and H (``hebb``) memories of a core."""
    return {
        "weight": (lanes_of(cfg, cfg.w_bits), cfg.axons * cfg.groups),
        "hebb": (data.ArrayLayout(signed(cfg.h_bits), 2 * cfg.lanes),
                 -(-cfg.axons * cfg.groups // 2)),
    }


def memory_bits(cfg: CoreConfig) -> dict[str, int]:
    """Block-RAM bits of one core by role (the bitmap and ROM included), from its geometry.

    ``weight`` and ``hebb`` are the synapses (and ``plastic``, their plasticity enables,
    with ``cfg.plastic_mask`` only); ``state`` is what persists between steps
    (membranes, spikes, row timestamps); ``params`` the other host-loaded memories
    (bias, theta, beta, decay table); ``scratch`` what a step uses internally
    (accumulators, post-synaptic terms, two-bank active list, integrate order list,
    two-bank touched-row marks, input bitmap, f table). Memories with a second read port
    (``t_last``, ``p_table``) are counted once, though block RAM may hold them twice.
    """
    from glocal.rtl.axon import WORD

    a, n = cfg.axons, cfg.neurons
    words = -(-a // WORD)
    bits = {name: shape.size * depth for name, (shape, depth) in synapse_memories(cfg).items()}
    bits |= {
        "state": n * (cfg.u_bits + 1) + a * cfg.ts_bits,
        "params": n * (cfg.bias_bits + cfg.theta_bits) + a * cfg.beta_bits
        + (1 << cfg.ts_bits) * cfg.p_bits,
        "scratch": n * (2 * cfg.acc_bits + fixed.F_BITS) + 3 * a * max(1, (a - 1).bit_length())
        + 2 * a + 2 * words * WORD + fixed.F_SIZE * fixed.F_BITS,
    }
    if cfg.plastic_mask:
        bits["plastic"] = a * n
    return bits
