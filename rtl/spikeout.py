"""Egress and ingress: between a core's spike streams and its router's local port.

`Egress` turns each fired neuron id into the packets its routing table lists (one per
destination: multicast at the source, see :mod:`glocal.golden.noc`); each packet carries
the neuron's output value (with ``act_bits > 1``). `Ingress` turns each packet the router
ejects into the axon (and value) it sets in the core's pending axon bank.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.vendor import SiliconBluePlatform

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh, RouteTable, value_bits
from glocal.rtl.noc import (
    axon_stream,
    dest_layout,
    neuron_stream,
    packet_layout,
    ptr_layout,
    table_read_signature,
    table_write_layout,
)

__all__ = ["Egress", "Ingress"]


class Egress(wiring.Component):
    """Routing-table lookup: fired neuron ids in, packets out, one packet per cycle.

    A four-stage pipeline: the pointer table is read with the neuron id, the destination
    table with ``base + k`` for ``k < count``, and its entry with the neuron's value (a
    whole packet) is registered and offered.
    A neuron with ``count`` destinations occupies the pointer stage for ``max(count, 1)``
    cycles, so a fan-out of one sustains one spike per cycle.

    Parameters
    ----------
    mesh : Mesh
        Geometry and table sizes.
    cfg : CoreConfig
        Core geometry.
    table : RouteTable or None
        Initial table contents (as after the host wrote them); empty if ``None``.

    Members
    -------
    spikes : In(neuron_stream(cfg))
        Fired neuron ids from the core.
    packets : Out(stream.Signature(packet_layout))
        To the router's local input.
    write : In(stream.Signature(table_write_layout))
        Table writes from the configuration bus; always ready. Write only while ``idle``.
    read : Out(table_read_signature)
        Table reads from the configuration bus (own memory ports; at any time).
    idle : Out(1)
        No spike offered, none being looked up, no packet waiting.
    """

    def __init__(self, *, mesh: Mesh, cfg: CoreConfig, table: RouteTable | None = None):
        self._mesh, self._cfg, self._table = mesh, cfg, table
        super().__init__({
            "spikes": In(neuron_stream(cfg)),
            "packets": Out(stream.Signature(packet_layout(mesh, cfg))),
            "write": In(stream.Signature(table_write_layout(mesh, cfg))),
            "read": Out(table_read_signature(mesh, cfg)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        mesh, cfg, table = self._mesh, self._cfg, self._table
        pl, dl = ptr_layout(mesh), dest_layout(mesh, cfg)
        m.submodules.ptr = ptr = Memory(
            shape=unsigned(pl.size), depth=cfg.neurons,
            init=table.pointer_words(mesh) if table else [])
        m.submodules.dest = dest = Memory(
            shape=unsigned(dl.size), depth=mesh.depth,
            init=table.dest_words(mesh, cfg) if table else [])
        if isinstance(platform, SiliconBluePlatform):
            # iCE40: small tables (a 16-neuron core's) would otherwise be built from LCs.
            for mem in (ptr, dest):
                mem.attrs["ram_style"] = "block"

        ptr_w, dest_w = ptr.write_port(), dest.write_port()
        wr = self.write
        m.d.comb += [
            wr.ready.eq(1),
            ptr_w.addr.eq(wr.payload.addr), ptr_w.data.eq(wr.payload.data),
            ptr_w.en.eq(wr.valid & ~wr.payload.dest),
            dest_w.addr.eq(wr.payload.addr), dest_w.data.eq(wr.payload.data),
            dest_w.en.eq(wr.valid & wr.payload.dest),
        ]

        ptr_b, dest_b = ptr.read_port(), dest.read_port()
        rd_dest = Signal()
        with m.If(self.read.en):
            m.d.sync += rd_dest.eq(self.read.dest)
        m.d.comb += [
            ptr_b.addr.eq(self.read.addr), ptr_b.en.eq(self.read.en & ~self.read.dest),
            dest_b.addr.eq(self.read.addr), dest_b.en.eq(self.read.en & self.read.dest),
            self.read.data.eq(Mux(rd_dest, dest_b.data, ptr_b.data)),
        ]

        ptr_r, dest_r = ptr.read_port(), dest.read_port()
        pointer = pl(ptr_r.data)
        looked = Signal()                 # ptr_r.data holds the current neuron's pointer
        k = Signal(range(mesh.fanout))    # destinations of that neuron already issued
        read = Signal()                   # dest_r.data holds a destination entry
        out = self.packets

        free = ~out.valid | out.ready     # the output register can take an entry
        d_free = ~read | free             # the destination read can be replaced
        issue = looked & (pointer.count != 0) & d_free
        done = looked & ((pointer.count == 0) | (issue & (k == pointer.count - 1)))
        # The neuron's value travels beside its pointer, then beside its destination entry,
        # then in the packet register: the packet is offered from registers, not from the
        # block RAM (whose output would reach the router's or the ingress's handshake).
        looked_value = Signal.like(self.spikes.payload.value)
        read_value = Signal.like(self.spikes.payload.value)
        m.d.comb += [
            self.spikes.ready.eq(~looked | done),
            ptr_r.addr.eq(self.spikes.payload.neuron),
            ptr_r.en.eq(self.spikes.ready),          # hold the pointer while it is expanded
            dest_r.addr.eq(pointer.base + k),
            dest_r.en.eq(d_free),                    # hold the entry until it is registered
        ]
        with m.If(self.spikes.ready):
            m.d.sync += [looked.eq(self.spikes.valid),
                         looked_value.eq(self.spikes.payload.value)]
        with m.If(d_free):
            m.d.sync += [read.eq(issue), read_value.eq(looked_value)]
        with m.If(done):
            m.d.sync += k.eq(0)
        with m.Elif(issue):
            m.d.sync += k.eq(k + 1)
        with m.If(free):
            m.d.sync += [out.valid.eq(read), out.payload.eq(Cat(dest_r.data, read_value))]
        m.d.comb += self.idle.eq(~self.spikes.valid & ~looked & ~read & ~out.valid)
        return m


class Ingress(wiring.Component):
    """Ejected packets in, axon ids out (the packet's coordinates are this core's).

    Parameters
    ----------
    mesh : Mesh
    cfg : CoreConfig

    Members
    -------
    packets : In(stream.Signature(packet_layout))
        From the router's local output.
    axons : Out(axon_stream(cfg))
        To the core's pending axon bank, from a register: the packet's way from a routing
        table or a router's FIFO ends here, not at the core's axon memory (one cycle of
        latency, one packet per cycle).
    idle : Out(1)
        No axon waiting in the register.
    """

    def __init__(self, *, mesh: Mesh, cfg: CoreConfig):
        self._mesh, self._cfg = mesh, cfg
        super().__init__({
            "packets": In(stream.Signature(packet_layout(mesh, cfg))),
            "axons": Out(axon_stream(cfg)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.packets.ready.eq(~self.axons.valid | self.axons.ready),
                     self.idle.eq(~self.axons.valid)]
        with m.If(self.packets.ready):
            m.d.sync += [self.axons.valid.eq(self.packets.valid),
                         self.axons.payload.axon.eq(self.packets.payload.axon)]
            if value_bits(self._cfg):
                m.d.sync += self.axons.payload.value.eq(self.packets.payload.value)
        return m
