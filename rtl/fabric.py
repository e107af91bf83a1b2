"""Fabric: the whole spike network of the chip — egress, mesh and ingress of every core.

This is what the chip instantiates beside its cores. Core ``c`` drives ``spikes[c]``
(:func:`glocal.rtl.noc.neuron_stream`) and takes ``axons[c]``
(:func:`glocal.rtl.noc.axon_stream`) into its pending axon bank.

**Step synchronisation.** The chip may start step ``t + 1`` when every core's
``Control.ready`` is high *and* ``idle`` is high: every spike of step ``t`` has then been
looked up, routed and written into its destination's pending bank, which ``start`` hands
to the scanner. That is the one-step-per-layer-hop semantics of
:func:`glocal.golden.noc.deliver`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh, Port, RouteTable
from glocal.rtl import mesh as mesh_rtl
from glocal.rtl.noc import (
    axon_stream,
    neuron_stream,
    table_read_signature,
    table_write_layout,
)
from glocal.rtl.spikeout import Egress, Ingress

__all__ = ["Fabric"]


class Fabric(wiring.Component):
    """Per-core egress and ingress around a :class:`glocal.rtl.mesh.Mesh`.

    Parameters
    ----------
    mesh : Mesh
        Geometry and table sizes.
    cfg : CoreConfig
        Core geometry.
    depth : int
        Router input FIFO depth.
    tables : sequence of RouteTable or None
        Initial routing tables, one per core (``None``: empty, to be written).

    Members
    -------
    spikes : In(neuron_stream(cfg)).array(cores)
    axons : Out(axon_stream(cfg)).array(cores)
    write : In(stream.Signature(table_write_layout)).array(cores)
        Routing-table writes of each core.
    read : Out(table_read_signature).array(cores)
        Routing-table reads of each core.
    idle : Out(1)
        Every egress, the mesh and every ingress are empty.
    moves : Out(5).array(cores)
    injected, ejected : Out(32).array(cores)
    clear : In(1)
        See :class:`glocal.rtl.mesh.Mesh`.
    """

    def __init__(self, *, mesh: Mesh, cfg: CoreConfig, depth: int = 4,
                 tables: list[RouteTable] | None = None):
        if tables is not None and len(tables) != mesh.cores:
            raise ValueError(f"need {mesh.cores} routing tables, not {len(tables)}")
        self._mesh, self._cfg, self._depth, self._tables = mesh, cfg, depth, tables
        n, bits = mesh.cores, mesh_rtl.COUNTER_BITS
        super().__init__({
            "spikes": In(neuron_stream(cfg)).array(n),
            "axons": Out(axon_stream(cfg)).array(n),
            "write": In(stream.Signature(table_write_layout(mesh, cfg))).array(n),
            "read": Out(table_read_signature(mesh, cfg)).array(n),
            "idle": Out(1),
            "moves": Out(len(Port)).array(n),
            "injected": Out(bits).array(n),
            "ejected": Out(bits).array(n),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        g, cfg = self._mesh, self._cfg
        # One core needs no router (a 1×1 mesh's router is five FIFOs and an arbiter).
        net_cls = mesh_rtl.Loop if g.cores == 1 else mesh_rtl.Mesh
        m.submodules.mesh = net = net_cls(mesh=g, cfg=cfg, depth=self._depth)
        idles = [net.idle]
        for c in range(g.cores):
            table = self._tables[c] if self._tables is not None else None
            eg = Egress(mesh=g, cfg=cfg, table=table)
            ig = Ingress(mesh=g, cfg=cfg)
            m.submodules[f"egress{c}"] = eg
            m.submodules[f"ingress{c}"] = ig
            wiring.connect(m, wiring.flipped(self.spikes[c]), eg.spikes)
            wiring.connect(m, wiring.flipped(self.write[c]), eg.write)
            wiring.connect(m, wiring.flipped(self.read[c]), eg.read)
            wiring.connect(m, eg.packets, net.inject[c])
            wiring.connect(m, net.eject[c], ig.packets)
            wiring.connect(m, ig.axons, wiring.flipped(self.axons[c]))
            m.d.comb += [self.moves[c].eq(net.moves[c]),
                         self.injected[c].eq(net.injected[c]),
                         self.ejected[c].eq(net.ejected[c])]
            idles += [eg.idle, ig.idle]
        m.d.comb += [net.clear.eq(self.clear), self.idle.eq(Cat(idles).all())]
        return m
