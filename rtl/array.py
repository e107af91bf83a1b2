"""CoreArray: the many-core chip behind one bus — every core, the spike fabric, the step sync.

``mesh.cores`` :class:`glocal.rtl.core.Core` s sit on a :class:`glocal.rtl.fabric.Fabric`;
core ``c``'s ``spikes`` feed its egress and its ingress feeds core ``c``'s ``axons``. The
array has the same two interfaces as a single core (``bus`` and ``ctrl``), so a driver or
:class:`glocal.rtl.host.UartHost` attaches to either the same way.

**Bus interconnect.** A request goes by its address's core field (:mod:`glocal.golden.memmap`):

- to core ``c``'s own bus, with the core field cleared (a core answers core 0 only);
- ``ROUTE_PTR`` / ``ROUTE_DEST`` to core ``c``'s egress routing table (writes wait until
  the array is not busy, reads are served at any time through the table's own read port);
- reads of ``REGS`` ``PACKETS_OUT`` / ``PACKETS_IN`` to the fabric's injected / ejected
  counters of core ``c`` (32 bits, wrapping, counted since reset);
- a core past the mesh, or a routing index past its table, is answered with ``error = 1``
  by the interconnect itself (no core's ``STATUS`` records it).

One request is in flight at a time; its response is passed back before the next request
is taken, so responses come in order. A request is decoded into registers the cycle it is
offered and taken at the earliest the cycle after.

**Step synchronisation** (the semantics of :mod:`glocal.golden.chip`: one step per hop).
``ctrl.ready`` is high when every core is ready *and* the fabric is idle — every spike of
the previous step has then been routed into its destination's pending axon bank; ``start``
is passed to every core in the same cycle, and only then. ``ctrl.busy`` is high while any
core is busy or the fabric is not idle.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import CORE_SHIFT, INDEX_BITS, REGION_SHIFT, Reg, Region
from glocal.golden.noc import Mesh, Port, RouteTable
from glocal.rtl.bus import Control
from glocal.rtl.bus import Signature as BusSignature
from glocal.rtl.core import Core
from glocal.rtl.fabric import Fabric

__all__ = ["CoreArray"]


class CoreArray(wiring.Component):
    """Every core of the mesh, their spike fabric, the bus interconnect and the step sync.

    Parameters
    ----------
    cfg : CoreConfig
        Every core's geometry and widths.
    mesh : Mesh
        Geometry and routing-table sizes.
    fifo_depth : int
        Router input FIFO depth.
    tables : list of RouteTable or None
        Initial routing tables (``None``: empty, written over the bus).
    single_port : bool
        Every core keeps W and H in single-port RAM (`rtl.core.Core`'s ``single_port``).

    Members
    -------
    bus : Out(bus.Signature())
        Configuration bus of the whole chip (every core, see the module docstring).
    ctrl : Out(bus.Control())
        Step control of the whole chip.
    moves : Out(5).array(cores)
        Router ``c``'s output transfers this cycle, bit ``p`` for :class:`Port` ``p``
        (observation only: link-utilisation measurements).
    """

    def __init__(self, *, cfg: CoreConfig, mesh: Mesh, fifo_depth: int = 4,
                 tables: list[RouteTable] | None = None, single_port: bool = False):
        if not isinstance(mesh, Mesh):
            raise TypeError(f"mesh must be a glocal.golden.noc.Mesh, not {mesh!r}")
        if tables is not None and len(tables) != mesh.cores:
            raise ValueError(f"tables must list {mesh.cores} routing tables, not {len(tables)}")
        self._cfg, self._mesh, self._fifo_depth, self._tables = cfg, mesh, fifo_depth, tables
        self._single_port = single_port
        super().__init__({
            "bus": Out(BusSignature()),
            "ctrl": Out(Control()),
            "moves": Out(len(Port)).array(mesh.cores),
        })

    @property
    def mesh(self) -> Mesh:
        return self._mesh

    def elaborate(self, platform):
        m = Module()
        cfg, mesh = self._cfg, self._mesh
        n = mesh.cores
        m.submodules.fabric = fabric = Fabric(mesh=mesh, cfg=cfg, depth=self._fifo_depth,
                                              tables=self._tables)
        cores = []
        for c in range(n):
            core = Core(cfg=cfg, single_port=self._single_port)
            m.submodules[f"core{c}"] = core
            cores.append(core)
            wiring.connect(m, core.spikes, fabric.spikes[c])
            wiring.connect(m, fabric.axons[c], core.axons)
            m.d.comb += self.moves[c].eq(fabric.moves[c])

        # -- step synchronisation -----------------------------------------------------------
        ready = Signal()
        m.d.comb += [
            ready.eq(Cat(core.ctrl.ready for core in cores).all() & fabric.idle),
            self.ctrl.ready.eq(ready),
            self.ctrl.busy.eq(Cat(core.ctrl.busy for core in cores).any() | ~fabric.idle),
        ]
        for core in cores:
            m.d.comb += core.ctrl.start.eq(self.ctrl.start & ready)

        # -- bus interconnect ---------------------------------------------------------------
        req, resp = self.bus.req, self.bus.resp
        addr = req.payload.addr
        a_core = addr[CORE_SHIFT:]
        a_region = addr[REGION_SHIFT:CORE_SHIFT]
        a_index = addr[:INDEX_BITS]
        write = req.payload.write

        on_mesh = a_core < n
        is_ptr, is_dest = a_region == Region.ROUTE_PTR, a_region == Region.ROUTE_DEST
        route_ok = ((is_ptr & (a_index < memmap.region_size(cfg, Region.ROUTE_PTR, mesh)))
                    | (is_dest & (a_index < memmap.region_size(cfg, Region.ROUTE_DEST, mesh))))
        is_counter = ((a_region == Region.REGS) & ~write
                      & ((a_index == Reg.PACKETS_OUT) | (a_index == Reg.PACKETS_IN)))

        target = Signal(range(n))        # core of the request in flight
        r_data = Signal(32)
        r_error = Signal()

        for c, core in enumerate(cores):
            m.d.comb += [
                core.bus.req.payload.addr.eq(addr[:CORE_SHIFT]),   # core field 0
                core.bus.req.payload.write.eq(write),
                core.bus.req.payload.data.eq(req.payload.data),
                fabric.write[c].payload.dest.eq(is_dest),
                fabric.write[c].payload.addr.eq(a_index),
                fabric.write[c].payload.data.eq(req.payload.data),
                fabric.read[c].dest.eq(is_dest),
                fabric.read[c].addr.eq(a_index),
            ]

        # The request's decode is registered before the interconnect acts on it (the
        # request stays offered, its payload stable, until it is taken): the bus's wires
        # from the host end at these registers, not at the interconnect's state.
        d_bad, d_counter, d_table, d_core = Signal(), Signal(), Signal(), Signal(range(n))
        with m.FSM(name="interconnect"):
            with m.State("IDLE"), m.If(req.valid):
                m.d.sync += [d_bad.eq(~on_mesh | ((is_ptr | is_dest) & ~route_ok)),
                             d_counter.eq(is_counter), d_table.eq(is_ptr | is_dest),
                             d_core.eq(a_core)]
                m.next = "ROUTE"
            with m.State("ROUTE"):
                with m.If(d_bad):
                    m.d.comb += req.ready.eq(1)
                    m.d.sync += [r_error.eq(1), r_data.eq(0)]
                    m.next = "RESPOND"
                with m.Elif(d_counter):
                    m.d.comb += req.ready.eq(1)
                    m.d.sync += r_error.eq(0)
                    with m.Switch(d_core):
                        for c in range(n):
                            with m.Case(c):
                                m.d.sync += r_data.eq(Mux(a_index == Reg.PACKETS_IN,
                                                          fabric.ejected[c],
                                                          fabric.injected[c]))
                    m.next = "RESPOND"
                with m.Elif(d_table & write):
                    # Routing tables change only while nothing runs.
                    m.d.comb += req.ready.eq(~self.ctrl.busy)
                    with m.If(~self.ctrl.busy):
                        for c in range(n):
                            m.d.comb += fabric.write[c].valid.eq(d_core == c)
                        m.d.sync += [r_error.eq(0), r_data.eq(0)]
                        m.next = "RESPOND"
                with m.Elif(d_table):
                    m.d.comb += req.ready.eq(1)
                    for c in range(n):
                        m.d.comb += fabric.read[c].en.eq(d_core == c)
                    m.d.sync += [target.eq(d_core), r_error.eq(0)]
                    m.next = "TABLE"
                with m.Else():
                    # Forward: the core takes the request when it can.
                    with m.Switch(d_core):
                        for c, core in enumerate(cores):
                            with m.Case(c):
                                m.d.comb += [core.bus.req.valid.eq(1),
                                             req.ready.eq(core.bus.req.ready)]
                    with m.If(req.ready):
                        m.d.sync += target.eq(d_core)
                        m.next = "FORWARD"
            with m.State("FORWARD"):
                with m.Switch(target):
                    for c, core in enumerate(cores):
                        with m.Case(c):
                            sel = core.bus.resp
                            m.d.comb += [resp.valid.eq(sel.valid), resp.payload.eq(sel.payload),
                                         sel.ready.eq(resp.ready)]
                with m.If(resp.valid & resp.ready):
                    m.next = "IDLE"
            with m.State("TABLE"):
                with m.Switch(target):
                    for c in range(n):
                        with m.Case(c):
                            m.d.sync += r_data.eq(fabric.read[c].data)
                m.next = "RESPOND"
            with m.State("RESPOND"):
                m.d.comb += [resp.valid.eq(1), resp.payload.data.eq(r_data),
                             resp.payload.error.eq(r_error)]
                with m.If(resp.ready):
                    m.next = "IDLE"
        return m
