"""Router: one node of the 2-D mesh, five ports, XY routing, round-robin output arbitration.

Every input port has a FIFO; a packet at the head of an input FIFO asks for the output
port :func:`glocal.golden.noc.out_port` names (X first, then Y). Each output grants one
requesting input per cycle, round-robin starting after the input it last served; a grant
stays on its input until the packet is taken, so ``valid`` and ``payload`` stay stable
while the next router's FIFO is full. Nothing is dropped: a full FIFO holds ``ready`` low
and the sender waits.

A packet moves one hop per cycle when nothing blocks it (the input FIFO's read is
asynchronous, so its head is offered the cycle after it was written).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh, Port
from glocal.rtl.noc import packet_layout

__all__ = ["Router"]

PORTS = list(Port)


class Router(wiring.Component):
    """One mesh router at column ``x``, row ``y``.

    Parameters
    ----------
    mesh : Mesh
        Geometry (sets the packet's coordinate widths).
    cfg : CoreConfig
        Core geometry (sets the packet's axon width).
    x, y : int
        This router's coordinates.
    depth : int
        Entries of each input FIFO; 2 or more sustains one packet per cycle per port.

    Members
    -------
    i : In(stream.Signature(packet_layout)).array(5)
        Input ports, indexed by :class:`glocal.golden.noc.Port`.
    o : Out(stream.Signature(packet_layout)).array(5)
        Output ports, same indexing.
    idle : Out(1)
        Every input FIFO is empty.
    """

    def __init__(self, *, mesh: Mesh, cfg: CoreConfig, x: int, y: int, depth: int = 4):
        if not (0 <= x < mesh.cols and 0 <= y < mesh.rows):
            raise ValueError(f"router ({x}, {y}) is outside the {mesh.rows}×{mesh.cols} mesh")
        if depth < 1:
            raise ValueError(f"FIFO depth must be a positive integer, not {depth!r}")
        self._mesh, self._cfg, self._x, self._y, self._depth = mesh, cfg, x, y, depth
        layout = packet_layout(mesh, cfg)
        super().__init__({
            "i": In(stream.Signature(layout)).array(len(PORTS)),
            "o": Out(stream.Signature(layout)).array(len(PORTS)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        layout = packet_layout(self._mesh, self._cfg)
        n = len(PORTS)

        heads, valid, want = [], [], []
        for p in PORTS:
            fifo = SyncFIFO(width=layout.size, depth=self._depth)
            m.submodules[f"fifo_{p.name.lower()}"] = fifo
            m.d.comb += [
                fifo.w_data.eq(self.i[p].payload),
                fifo.w_en.eq(self.i[p].valid),
                self.i[p].ready.eq(fifo.w_rdy),
            ]
            head = layout(fifo.r_data)
            route = Signal(range(n), name=f"route_{p.name.lower()}")
            with m.If(head.x > self._x):
                m.d.comb += route.eq(Port.E)
            with m.Elif(head.x < self._x):
                m.d.comb += route.eq(Port.W)
            with m.Elif(head.y > self._y):
                m.d.comb += route.eq(Port.S)
            with m.Elif(head.y < self._y):
                m.d.comb += route.eq(Port.N)
            with m.Else():
                m.d.comb += route.eq(Port.LOCAL)
            heads.append(fifo)
            valid.append(fifo.r_rdy)
            want.append(route)

        m.d.comb += self.idle.eq(sum(f.level for f in heads) == 0)

        taken = [[] for _ in PORTS]    # taken[p]: "output q took input p" terms
        for q in PORTS:
            name = q.name.lower()
            req = Signal(n, name=f"req_{name}")
            m.d.comb += req.eq(sum((valid[p] & (want[p] == q)) << p for p in PORTS))
            last = Signal(range(n), init=n - 1, name=f"last_{name}")   # input served last
            held = Signal(range(n), name=f"held_{name}")                # grant kept while stalled
            lock = Signal(name=f"lock_{name}")
            grant = Signal(range(n), name=f"grant_{name}")
            any_req = Signal(name=f"any_{name}")
            m.d.comb += any_req.eq(req.any())
            with m.If(lock):
                m.d.comb += grant.eq(held)
            # Round robin: the first requester after `last`, wrapping around.
            with m.Else(), m.Switch(last):
                for l in range(n):
                    with m.Case(l):
                        order = [(l + k) % n for k in range(1, n + 1)]
                        for k, p in enumerate(order):
                            with (m.If if k == 0 else m.Elif)(req[p]):
                                m.d.comb += grant.eq(p)
            out = self.o[q]
            m.d.comb += out.valid.eq(any_req)
            with m.Switch(grant):
                for p in PORTS:
                    with m.Case(p):
                        m.d.comb += out.payload.eq(heads[p].r_data)
            fire = out.valid & out.ready
            m.d.sync += [lock.eq(out.valid & ~out.ready), held.eq(grant)]
            with m.If(fire):
                m.d.sync += last.eq(grant)
            for p in PORTS:
                taken[p].append(fire & (grant == p))

        for p in PORTS:
            m.d.comb += heads[p].r_en.eq(Cat(taken[p]).any())
        return m
