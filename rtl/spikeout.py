"""Egress and ingress: between a core's spike streams and its router's local port.

`Egress` turns each fired neuron id into the packets its routing table lists (one per
destination: multicast at the source, see :mod:`glocal.golden.noc`); each packet carries
the neuron's output value (with ``act_bits > 1``). `Ingress` turns each packet the router
ejects into the axon (and value) it sets in the core's pending axon bank.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
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
from glocal.rtl.target import resolve_lean

__all__ = ["Egress", "Ingress"]


class _Stream:
    """A stream's three members, as plain values (a FIFO's read side seen as a stream)."""

    def __init__(self, valid, payload, ready):
        self.valid, self.payload, self.ready = valid, payload, ready


class Egress(wiring.Component):
    """Routing-table lookup: fired neuron ids in, packets out, one packet per cycle.

    A pipeline: the spike is queued (a two-entry FIFO), the pointer table read with the
    neuron id and the pointer registered, the destination table read with ``base + k``
    for ``k < count``, and its entry with the neuron's value (a whole packet) queued (a
    two-entry FIFO) and offered; ``lean`` leaves out both FIFOs and the pointer register.
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
    lean : bool or None
        Leave out the two-entry FIFOs at the input and the output and the pointer's
        register (fewer flip-flops, two cycles less from a spike to its first packet, but
        the handshakes of the core and of the router meet in one cycle); ``None`` chooses
        by platform: lean on the iCE40, whose LCs run out before its clock does.

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

    def __init__(self, *, mesh: Mesh, cfg: CoreConfig, table: RouteTable | None = None,
                 lean: bool | None = None):
        self._mesh, self._cfg, self._table, self._lean = mesh, cfg, table, lean
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

        lean = resolve_lean(self._lean, platform)
        spikes, out = self.spikes, self.packets
        if not lean:
            # Two-entry FIFOs at both ends: ``spikes.ready`` and the lookup's "room for a
            # packet" then come from their levels (registers), not from the handshakes
            # of the core's spike FIFO and of the router or ingress beyond.
            m.submodules.inq = inq = SyncFIFO(width=len(spikes.payload.as_value()), depth=2)
            m.submodules.outq = outq = SyncFIFO(width=len(out.payload.as_value()), depth=2)
            m.d.comb += [inq.w_data.eq(spikes.payload), inq.w_en.eq(spikes.valid),
                         spikes.ready.eq(inq.w_rdy),
                         out.payload.eq(outq.r_data), out.valid.eq(outq.r_rdy),
                         outq.r_en.eq(out.ready)]
            spikes = _Stream(inq.r_rdy, spikes.payload.shape()(inq.r_data), inq.r_en)

        ptr_r, dest_r = ptr.read_port(), dest.read_port()
        looked = Signal()                 # ``pointer`` holds the current neuron's pointer
        k = Signal(range(mesh.fanout))    # destinations of that neuron already issued
        looked_value = Signal.like(self.spikes.payload.value)
        read_value = Signal.like(self.spikes.payload.value)
        if lean:
            # The pointer is used as the block RAM gives it (held while it is expanded);
            # the destination read is the output register (held while it is offered).
            pointer = pl(ptr_r.data)
            read = out.valid
            d_free = ~out.valid | out.ready
        else:
            # The pointer read is registered before it is used.
            pointer = Signal(pl)
            fetched = Signal()            # ptr_r.data holds a pointer to register
            fetched_value = Signal.like(self.spikes.payload.value)
            read = Signal()               # dest_r.data holds a destination entry
            d_free = ~read | outq.w_rdy   # the destination read can be replaced
        issue = looked & (pointer.count != 0) & d_free
        done = looked & ((pointer.count == 0) | (issue & (k == pointer.count - 1)))
        # The neuron's value travels beside its pointer, then beside its destination entry.
        if lean:
            m.d.comb += [spikes.ready.eq(~looked | done),
                         ptr_r.en.eq(spikes.ready)]  # hold the pointer while it is expanded
            with m.If(spikes.ready):
                m.d.sync += [looked.eq(spikes.valid),
                             looked_value.eq(spikes.payload.value)]
        else:
            advance = ~looked | done
            m.d.comb += [spikes.ready.eq(~fetched | advance), ptr_r.en.eq(spikes.ready)]
            with m.If(spikes.ready):
                m.d.sync += [fetched.eq(spikes.valid),
                             fetched_value.eq(spikes.payload.value)]
            with m.If(advance):
                m.d.sync += [looked.eq(fetched), pointer.eq(ptr_r.data),
                             looked_value.eq(fetched_value)]
        m.d.comb += [
            ptr_r.addr.eq(spikes.payload.neuron),
            dest_r.addr.eq(pointer.base + k),
            dest_r.en.eq(d_free),                    # hold the entry until it is taken
        ]
        with m.If(d_free):
            m.d.sync += [read.eq(issue), read_value.eq(looked_value)]
        with m.If(done):
            m.d.sync += k.eq(0)
        with m.Elif(issue):
            m.d.sync += k.eq(k + 1)
        packet = Cat(dest_r.data, read_value)
        if lean:
            m.d.comb += [out.payload.eq(packet),
                         self.idle.eq(~self.spikes.valid & ~looked & ~out.valid)]
        else:
            m.d.comb += [outq.w_data.eq(packet), outq.w_en.eq(read)]
            m.d.comb += self.idle.eq(~self.spikes.valid & ~inq.r_rdy & ~fetched & ~looked
                                     & ~read & ~outq.r_rdy)
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
