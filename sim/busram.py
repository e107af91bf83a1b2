"""Test fixture: plain memories behind the configuration bus, standing in for the chip.

`BusRam` answers the bus exactly as :mod:`glocal.golden.memmap` says the chip does
(widths, sign extension, errors for unmapped addresses and read-only registers), but its
"step" only makes RUN observable: it copies each core's AXON inputs to S, clears AXON and
counts ``Reg.STEPS``. It is a test fixture for the host interface until the real core
lands, not a model of the core. `Bench` is the Verilator top used by the driver tests:
`UartHost` and `BusRam` with the serial pins outside.
"""

from amaranth.hdl import Array, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.rtl import bus
from glocal.rtl.host import UartHost

__all__ = ["BusRam", "Bench", "STEP_OVERHEAD"]

#: Cycles a fixture step takes on top of one per axon (so ready/busy are seen to move).
STEP_OVERHEAD = 4


class BusRam(wiring.Component):
    """Every memmap region of ``cores`` cores as plain memories, plus a trivial step.

    Parameters
    ----------
    cfg : CoreConfig
        Sizes and entry widths of the regions.
    cores : int
        Number of cores.
    mesh : Mesh or None
        Gives the routing regions their sizes and widths (plain memories here too);
        without it they do not exist.

    Members
    -------
    bus : Out(bus.Signature())
        Configuration bus responder; requests are not taken while a step runs.
    ctrl : Out(bus.Control())
        Step control: a step takes ``axons + STEP_OVERHEAD`` cycles, all cores together.
    """

    def __init__(self, *, cfg: CoreConfig, cores: int, mesh: Mesh | None = None):
        self._cfg = cfg
        self._cores = cores
        self._mesh = mesh
        super().__init__({"bus": Out(bus.Signature()), "ctrl": Out(bus.Control())})

    def elaborate(self, platform):
        cfg, cores, mesh = self._cfg, self._cores, self._mesh
        regions = [r for r in Region if memmap.region_size(cfg, r, mesh) > 0]
        m = Module()
        req, resp = self.bus.req, self.bus.resp

        stepping = Signal()
        step_i = Signal(range(cfg.axons + STEP_OVERHEAD + 1))
        pending = Signal()
        addr = Signal(32)
        write = Signal()
        error = Signal()

        a_core = req.payload.addr[memmap.CORE_SHIFT:]
        a_region = req.payload.addr[memmap.REGION_SHIFT:memmap.CORE_SHIFT]
        a_index = req.payload.addr[:memmap.INDEX_BITS]
        take = req.valid & req.ready
        m.d.comb += req.ready.eq(~pending & ~stepping)

        # Valid address? (the same rules as memmap.decode, plus REG_WRITABLE on writes)
        ok = Signal()
        with m.Switch(a_region):
            for region in regions:
                with m.Case(region):
                    good = (a_core < cores) & (a_index < memmap.region_size(cfg, region, mesh))
                    if region is Region.REGS:
                        writable = 0
                        for r in memmap.REG_WRITABLE:
                            writable |= 1 << r
                        good &= ~req.payload.write | (writable >> a_index)[0]
                    m.d.comb += ok.eq(good)

        with m.If(take):
            m.d.sync += [pending.eq(1), addr.eq(req.payload.addr), write.eq(req.payload.write),
                         error.eq(~ok)]
        with m.If(resp.valid & resp.ready):
            m.d.sync += pending.eq(0)
        m.d.comb += [resp.valid.eq(pending), resp.payload.error.eq(error)]

        rdata = Array(Array(Signal(32, name=f"rd_{c}_{r.name.lower()}") for r in Region)
                      for c in range(cores))
        l_core = addr[memmap.CORE_SHIFT:]
        l_region = addr[memmap.REGION_SHIFT:memmap.CORE_SHIFT]
        with m.If(~error & ~write):
            m.d.comb += resp.payload.data.eq(rdata[l_core][l_region])

        for c in range(cores):
            here = take & ok & (a_core == c)
            regs = Array(Signal(32, name=f"reg_{c}_{r.name.lower()}") for r in Reg)
            ports = {}
            for region in regions:
                width = memmap.region_width(cfg, region, mesh)
                out = rdata[c][region]
                sel = here & (a_region == region)
                if region is Region.REGS:
                    with m.If(sel):
                        m.d.sync += out.eq(regs[a_index])
                        with m.If(req.payload.write & (a_index != Reg.STATUS)):
                            m.d.sync += regs[a_index].eq(req.payload.data)
                    with m.If(stepping & (step_i == 0)):
                        m.d.sync += regs[Reg.STEPS].eq(regs[Reg.STEPS] + 1)
                    continue
                mem = Memory(shape=unsigned(width),
                             depth=memmap.region_size(cfg, region, mesh), init=[])
                m.submodules[f"mem_{c}_{region.name.lower()}"] = mem
                rd, wr = mem.read_port(), mem.write_port()
                m.d.comb += [rd.addr.eq(a_index), rd.en.eq(sel),
                             wr.addr.eq(a_index), wr.data.eq(req.payload.data),
                             wr.en.eq(sel & req.payload.write)]
                value = rd.data.as_signed() if memmap.region_signed(region) else rd.data
                m.d.comb += out.eq(value)
                ports[region] = rd, wr

            # The fixture's step: AXON[i] → S[i], then AXON[i] ← 0.
            i = step_i - STEP_OVERHEAD
            axon_rd, axon_wr = ports[Region.AXON]
            with m.If(stepping & (step_i >= STEP_OVERHEAD - 1)):
                m.d.comb += [axon_rd.addr.eq(step_i - (STEP_OVERHEAD - 1)), axon_rd.en.eq(1)]
            with m.If(stepping & (step_i >= STEP_OVERHEAD)):
                m.d.comb += [axon_wr.addr.eq(i), axon_wr.data.eq(0), axon_wr.en.eq(1)]
            s_wr = ports[Region.S][1]
            with m.If(stepping & (step_i >= STEP_OVERHEAD) & (i < cfg.neurons)):
                m.d.comb += [s_wr.addr.eq(i), s_wr.data.eq(axon_rd.data), s_wr.en.eq(1)]

        with m.If(stepping):
            m.d.sync += step_i.eq(step_i + 1)
            with m.If(step_i == cfg.axons + STEP_OVERHEAD - 1):
                m.d.sync += stepping.eq(0)
        with m.Elif(self.ctrl.start & ~pending):
            m.d.sync += [stepping.eq(1), step_i.eq(0)]
        m.d.comb += [self.ctrl.ready.eq(~stepping & ~pending), self.ctrl.busy.eq(stepping)]
        return m


class Bench(wiring.Component):
    """Verilator top for the driver tests: `UartHost` in front of a `BusRam`.

    Parameters
    ----------
    cfg, cores, mesh
        As in `BusRam`.
    clk_freq, baud, timeout_cycles
        As in `UartHost`.

    Members
    -------
    rx : In(1)
        Serial line into the chip.
    tx : Out(1)
        Serial line out of the chip.
    idle : Out(1)
        The host interface has no frame in progress (the simulation bridge stops the
        clock while this is high and the host sends nothing).
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    idle: Out(1)

    def __init__(self, *, cfg: CoreConfig, cores: int, clk_freq: float, baud: float,
                 timeout_cycles: int | None = None, mesh: Mesh | None = None):
        self._ram = BusRam(cfg=cfg, cores=cores, mesh=mesh)
        self._host = UartHost(cfg=cfg, cores=cores, clk_freq=clk_freq, baud=baud,
                              timeout_cycles=timeout_cycles, mesh=mesh)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = self._host
        m.submodules.ram = ram = self._ram
        wiring.connect(m, host.bus, ram.bus)
        wiring.connect(m, host.ctrl, ram.ctrl)
        m.d.comb += [host.rx.eq(self.rx), self.tx.eq(host.tx), self.idle.eq(host.idle)]
        return m


