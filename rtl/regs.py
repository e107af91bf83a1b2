"""Regs: the core's bus decoder, scalar registers and performance counters.

Every request on the configuration bus is decoded here against :mod:`glocal.golden.memmap`.
Register accesses are answered from this block; memory accesses are handed to the core
through the ``mem`` port (one read or write strobe in the cycle the request is served,
read data back ``read_latency`` cycles after), so that the core, which owns the memories, can share
their ports between the bus and its passes. An address outside the map, a core index
other than 0, a write to a read-only register, a ``REFRESH`` value past the last axon, a
``MODE`` other than SNN/ANN (ANN only with ``act_bits > 1``) or an ``OUT_SHIFT`` past
``cfg.out_shift_range`` is answered with ``error = 1``, sets the sticky ``STATUS`` bit 1
and changes nothing.
The packet counters ``PACKETS_OUT``/``PACKETS_IN`` belong to the network around the core:
a bare core reads them as 0, and the chip's interconnect (:mod:`glocal.rtl.array`) answers
them from its fabric instead.

Bus timing: a request is taken into a register whenever the block is idle, decoded the
cycle after (into registers again) and served the cycle after that, or later while the
core cannot serve it (a memory other than ``AXON`` during a step, a register write during
a step); its response is offered ``read_latency + 1`` cycles after it is served (a read:
the memory, the core's one or two registers of the entry read, the capture) or one (a
decode error or a write), and the next request is taken after the response. The bus's
wires and the decode each end at a register, so neither reaches the memories' write
enables in the cycle they arrive (the chip's clock, ``docs/boards.md``).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.golden.memmap import (
    CORE_SHIFT,
    INDEX_BITS,
    REG_WRITABLE,
    REGION_SHIFT,
    Reg,
    Region,
    region_size,
)
from glocal.golden.reference import Mode
from glocal.rtl.bus import Signature as BusSignature

__all__ = ["Regs", "MemPort", "COUNTERS"]

#: Performance counters, each with the widest increment it takes in one cycle.
COUNTERS = {
    Reg.STEPS: 1, Reg.CYC_INTEGRATE: 1, Reg.CYC_FIRE: 1, Reg.CYC_LEARN: 1, Reg.CYC_STEP: 1,
    Reg.SYN_OPS: 11, Reg.PLASTIC_UPDATES: 5, Reg.SPIKES_IN: 1, Reg.SPIKES_OUT: 5,
}


class MemPort(wiring.Signature):
    """Memory access handed from `Regs` to the core (seen from `Regs`).

    Members
    -------
    region : Out(4), index : Out(20), data : Out(32), we : Out(1)
        The request being served (``we``: it is a write), from registers.
    read, write : Out(1)
        Strobes: the request is served this cycle.
    stall : In(1)
        The core cannot serve ``region`` now (combinational from ``region``/``write``).
    rdata : In(32)
        Read data, extended to 32 bits, ``Regs``'s ``read_latency`` cycles after ``read``
        (the block RAM, then the core's register(s) of the entry read; the request's
        address is held meanwhile).
    """

    def __init__(self):
        super().__init__({
            "region": Out(4), "index": Out(INDEX_BITS), "data": Out(32), "we": Out(1),
            "read": Out(1), "write": Out(1), "stall": In(1), "rdata": In(32),
        })


class Regs(wiring.Component):
    """Bus decoder, register file and counters of one core.

    Parameters
    ----------
    cfg : CoreConfig
    read_latency : int
        Cycles from ``mem.read`` to the data on ``mem.rdata`` (2 or more): what the core
        serving ``mem`` takes.

    Members
    -------
    bus : Out(bus.Signature())
    mem : Out(MemPort())
        Memory accesses for the core to perform.
    vth_shift, decay, alpha, h_max, learn, t, refresh, mode, out_shift : Out
        Register values, at the widths of their reference counterparts (``mode``: 1 for
        `glocal.golden.reference.Mode.ANN`).
    busy : In(1)
        A step runs: register writes wait (reads are answered).
    t_next : In(1)
        Advance the plastic clock ``t`` (start of a learning step).
    refresh_next : In(1)
        Advance the refresh row (end of a learning step).
    add_<counter> : In(unsigned)
        Per-cycle increments of the performance counters of `COUNTERS`.
    """

    def __init__(self, *, cfg: CoreConfig, read_latency: int = 2):
        if read_latency < 2:
            raise ValueError(f"read_latency must be 2 or more, not {read_latency}")
        self._cfg, self._read_latency = cfg, read_latency
        members = {
            "bus": Out(BusSignature()),
            "mem": Out(MemPort()),
            "vth_shift": Out(range(cfg.vth_shift_range[1] + 1), init=cfg.vth_shift_range[0]),
            "decay": Out(unsigned(cfg.decay_bits)),
            "alpha": Out(signed(cfg.alpha_bits)),
            "h_max": Out(unsigned(cfg.h_bits - 1)),
            "learn": Out(1),
            "t": Out(unsigned(cfg.ts_bits)),
            "refresh": Out(range(cfg.axons)),
            "mode": Out(1),
            "out_shift": Out(range(cfg.out_shift_range[1] + 1)),
            "busy": In(1),
            "t_next": In(1),
            "refresh_next": In(1),
        }
        for reg, width in COUNTERS.items():
            members[f"add_{reg.name.lower()}"] = In(width)
        super().__init__(members)

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        req, resp = self.bus.req, self.bus.resp
        # The request is registered as taken, and decoded from the registers a cycle later
        # into registers again: the bus's wires (which may cross the chip) end at a
        # register, and so does the decode; the strobes that reach the memories' write
        # enables come from registers through a short path.
        q = Signal.like(req.payload, name="q")
        addr = q.addr
        region = addr[REGION_SHIFT:CORE_SHIFT]
        index = addr[:INDEX_BITS]
        write = q.write
        wdata = q.data

        error = Signal()        # sticky STATUS bit 1
        counters = {reg: Signal(32, name=reg.name.lower()) for reg in COUNTERS}
        for reg, value in counters.items():
            m.d.sync += value.eq(value + getattr(self, f"add_{reg.name.lower()}"))

        # -- decode (from the registered request) ------------------------------------------
        # One comparison against the region's size (not one per region); register decodes
        # look at the low bits only: they matter only for a mapped REGS index.
        size = Signal(range((1 << INDEX_BITS) + 1))
        is_mem = Signal()
        with m.Switch(region):
            for reg_region in Region:
                with m.Case(reg_region):
                    m.d.comb += size.eq(region_size(cfg, reg_region))
                    m.d.comb += is_mem.eq(reg_region != Region.REGS)
        mapped = index < size
        reg_bits = index[:len(Reg).bit_length()]
        writable = Signal()
        with m.Switch(reg_bits), m.Case(*REG_WRITABLE):
            m.d.comb += writable.eq(1)
        max_mode = int(Mode.ANN) if cfg.act_bits > 1 else int(Mode.SNN)
        bad_value = (((reg_bits == Reg.REFRESH) & (wdata >= cfg.axons))
                     | ((reg_bits == Reg.MODE) & (wdata > max_mode))
                     | ((reg_bits == Reg.OUT_SHIFT) & (wdata > cfg.out_shift_range[1])))
        ok = Signal()
        m.d.comb += ok.eq((addr[CORE_SHIFT:] == 0) & mapped
                          & (is_mem | ~write | (writable & ~bad_value)))
        d_ok, d_mem = Signal(), Signal()    # the decode, registered
        m.d.comb += [self.mem.region.eq(region), self.mem.index.eq(index),
                     self.mem.data.eq(wdata), self.mem.we.eq(write)]

        # -- request/response ----------------------------------------------------------------
        resp_data = Signal(32)
        resp_error = Signal()
        m.d.comb += [resp.payload.data.eq(resp_data), resp.payload.error.eq(resp_error)]
        with m.FSM(name="bus"):
            with m.State("IDLE"):
                m.d.comb += req.ready.eq(1)
                with m.If(req.valid):
                    m.d.sync += q.eq(req.payload)
                    m.next = "DECODE"
            with m.State("DECODE"):
                m.d.sync += [d_ok.eq(ok), d_mem.eq(is_mem)]
                m.next = "ISSUE"
            with m.State("ISSUE"):
                # A memory the core cannot serve now, or a register write while a step
                # runs, waits here.
                wait = Signal()
                m.d.comb += wait.eq(d_ok & Mux(d_mem, self.mem.stall, self.busy & write))
                with m.If(~wait):
                    m.d.sync += [resp_error.eq(~d_ok), resp_data.eq(0)]
                    with m.If(~d_ok):
                        m.d.sync += error.eq(1)
                        m.next = "RESP"
                    with m.Elif(write):
                        m.next = "RESP"
                        with m.If(d_mem):
                            m.d.comb += self.mem.write.eq(1)
                        with m.Else():
                            self._write_reg(m, reg_bits, wdata, error)
                    with m.Else():
                        m.d.comb += self.mem.read.eq(d_mem)
                        m.next = "READ0"
            for k in range(self._read_latency - 1):
                with m.State(f"READ{k}"):
                    m.next = f"READ{k + 1}" if k + 2 < self._read_latency else "CAPTURE"
            with m.State("CAPTURE"):
                with m.If(d_mem):
                    m.d.sync += resp_data.eq(self.mem.rdata)
                with m.Else(), m.Switch(reg_bits):
                    for reg in Reg:
                        with m.Case(reg):
                            m.d.sync += resp_data.eq(
                                self._read_reg(reg, counters, error))
                m.next = "RESP"
            with m.State("RESP"):
                m.d.comb += resp.valid.eq(1)
                with m.If(resp.ready):
                    m.next = "IDLE"

        # Clock and refresh advance under the controller, outside bus writes (which wait
        # while busy).
        with m.If(self.t_next):
            m.d.sync += self.t.eq(self.t + 1)
        with m.If(self.refresh_next):
            m.d.sync += self.refresh.eq(Mux(self.refresh == cfg.axons - 1, 0,
                                             self.refresh + 1))
        return m

    def _write_reg(self, m, index, wdata, error):
        targets = {Reg.VTH_SHIFT: self.vth_shift, Reg.DECAY: self.decay, Reg.ALPHA: self.alpha,
                   Reg.H_MAX: self.h_max, Reg.LEARN: self.learn, Reg.T: self.t,
                   Reg.REFRESH: self.refresh, Reg.MODE: self.mode,
                   Reg.OUT_SHIFT: self.out_shift}
        with m.Switch(index):
            for reg, sig in targets.items():
                with m.Case(reg):
                    m.d.sync += sig.eq(wdata)
            with m.Case(Reg.STATUS), m.If(wdata[1]):
                m.d.sync += error.eq(0)

    def _read_reg(self, reg, counters, error):
        if reg in counters:
            return counters[reg]
        if reg in (Reg.PACKETS_OUT, Reg.PACKETS_IN):
            return 0
        if reg == Reg.STATUS:
            return self.busy | error << 1
        return {Reg.VTH_SHIFT: self.vth_shift, Reg.DECAY: self.decay, Reg.ALPHA: self.alpha,
                Reg.H_MAX: self.h_max, Reg.LEARN: self.learn, Reg.T: self.t,
                Reg.REFRESH: self.refresh, Reg.MODE: self.mode,
                Reg.OUT_SHIFT: self.out_shift}[reg]

