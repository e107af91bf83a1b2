"""Mesh: ``rows × cols`` routers wired as a 2-D mesh, with packet counters and a drain flag.

Router ``(x, y)`` serves core ``y·cols + x`` (:class:`glocal.golden.noc.Mesh`). Its east
output feeds the west input of ``(x+1, y)`` and its south output the north input of
``(x, y+1)``, and back. Ports on the mesh boundary are tied off (no input, never ready):
XY routing never sends a packet for a core on the mesh there.

**Deadlock freedom.** Under XY routing a packet turns at most once, from the X dimension
into the Y dimension, never back. Number the channels so that every X channel precedes
every Y channel and, within a dimension, channels are ordered along the direction of
travel: every packet then holds and requests channels in increasing order, so the
channel-dependency graph has no cycle (Dally & Seitz) and the mesh cannot deadlock. The
local (ejection) port only waits on the core, which accepts every axon eventually.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh as Geometry
from glocal.golden.noc import Port
from glocal.rtl.noc import packet_layout
from glocal.rtl.router import Router

__all__ = ["Mesh", "Loop"]

#: Width of the packet counters (wrap around).
COUNTER_BITS = 32


class Mesh(wiring.Component):
    """The mesh of routers.

    Parameters
    ----------
    mesh : glocal.golden.noc.Mesh
        Geometry.
    cfg : CoreConfig
        Core geometry (axon width of a packet).
    depth : int
        Entries of every router input FIFO.

    Members
    -------
    inject : In(stream.Signature(packet_layout)).array(cores)
        Core ``c``'s packets into its router.
    eject : Out(stream.Signature(packet_layout)).array(cores)
        Packets for core ``c`` out of its router.
    idle : Out(1)
        No packet anywhere in the mesh (every FIFO empty). Packets move only between
        FIFOs, so nothing is in flight when this is high.
    moves : Out(5).array(cores)
        Router ``c``'s output transfers this cycle, bit ``p`` for :class:`Port` ``p``
        (for link-utilisation measurements).
    injected, ejected : Out(COUNTER_BITS).array(cores)
        Packets taken from ``inject[c]`` / given on ``eject[c]`` since the last ``clear``.
    clear : In(1)
        Zero the counters.
    """

    def __init__(self, *, mesh: Geometry, cfg: CoreConfig, depth: int = 4):
        self._mesh, self._cfg, self._depth = mesh, cfg, depth
        sig = stream.Signature(packet_layout(mesh, cfg))
        n = mesh.cores
        super().__init__({
            "inject": In(sig).array(n),
            "eject": Out(sig).array(n),
            "idle": Out(1),
            "moves": Out(len(Port)).array(n),
            "injected": Out(COUNTER_BITS).array(n),
            "ejected": Out(COUNTER_BITS).array(n),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self._mesh
        routers = []
        for c in range(g.cores):
            x, y = g.xy(c)
            r = Router(mesh=g, cfg=self._cfg, x=x, y=y, depth=self._depth)
            m.submodules[f"router_{x}_{y}"] = r
            routers.append(r)

        for c, r in enumerate(routers):
            x, y = g.xy(c)
            if x + 1 < g.cols:
                east = routers[g.core(x + 1, y)]
                wiring.connect(m, r.o[Port.E], east.i[Port.W])
                wiring.connect(m, east.o[Port.W], r.i[Port.E])
            if y + 1 < g.rows:
                south = routers[g.core(x, y + 1)]
                wiring.connect(m, r.o[Port.S], south.i[Port.N])
                wiring.connect(m, south.o[Port.N], r.i[Port.S])
            wiring.connect(m, wiring.flipped(self.inject[c]), r.i[Port.LOCAL])
            wiring.connect(m, r.o[Port.LOCAL], wiring.flipped(self.eject[c]))
            m.d.comb += self.moves[c].eq(Cat(o.valid & o.ready for o in r.o))

            inj = self.inject[c].valid & self.inject[c].ready
            ej = self.eject[c].valid & self.eject[c].ready
            with m.If(self.clear):
                m.d.sync += [self.injected[c].eq(0), self.ejected[c].eq(0)]
            with m.Else():
                m.d.sync += [self.injected[c].eq(self.injected[c] + inj),
                             self.ejected[c].eq(self.ejected[c] + ej)]

        m.d.comb += self.idle.eq(Cat(r.idle for r in routers).all())
        return m


class Loop(wiring.Component):
    """The mesh of one core: its packets go straight back to it, with `Mesh`'s interface.

    A 1×1 mesh needs no router: XY routing sends every packet for the one core to its
    local port. `Loop` connects ``inject[0]`` to ``eject[0]`` (no buffer: the egress holds
    a packet until the core takes it, as the router's FIFO would) and counts each transfer
    as injected and ejected. A packet whose coordinates are not ``(0, 0)`` — a table entry
    for a core that does not exist — is never taken, so the chip stays busy, as the router
    keeps such a packet forever.

    Parameters and members as `Mesh` (``depth`` is accepted and unused).
    """

    def __init__(self, *, mesh: Geometry, cfg: CoreConfig, depth: int = 4):
        if mesh.cores != 1:
            raise ValueError(f"a Loop is the mesh of one core, not of {mesh.rows}×{mesh.cols}")
        sig = stream.Signature(packet_layout(mesh, cfg))
        super().__init__({
            "inject": In(sig).array(1),
            "eject": Out(sig).array(1),
            "idle": Out(1),
            "moves": Out(len(Port)).array(1),
            "injected": Out(COUNTER_BITS).array(1),
            "ejected": Out(COUNTER_BITS).array(1),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        i, o = self.inject[0], self.eject[0]
        local = (i.payload.x == 0) & (i.payload.y == 0)
        m.d.comb += [
            o.valid.eq(i.valid & local),
            o.payload.eq(i.payload),
            i.ready.eq(o.ready & local),
            self.moves[0].eq((o.valid & o.ready) << Port.LOCAL),
            self.idle.eq(1),
        ]
        # Every transfer is an injection and an ejection: one counter serves both.
        moved = o.valid & o.ready
        with m.If(self.clear):
            m.d.sync += self.injected[0].eq(0)
        with m.Else():
            m.d.sync += self.injected[0].eq(self.injected[0] + moved)
        m.d.comb += self.ejected[0].eq(self.injected[0])
        return m
