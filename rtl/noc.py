"""Hardware shapes of the network-on-chip, built from :mod:`glocal.golden.noc`'s widths.

The two spike streams a core exchanges with the network are defined here, once:

``neuron_stream(cfg)``
    Out of a core: the index of every neuron that fired this step, one per transfer, in
    any order, each at most once. The core's ``Control.ready`` must not rise before the
    cycle in which its last spike of the step is offered.
``axon_stream(cfg)``
    Into a core: the index of an axon to set in the core's *pending* axon bank (the one
    the next ``start`` scans), one per transfer, in any order, possibly repeated. The core
    may hold ``ready`` low (for example while its scanner clears a word); nothing is lost.
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh, packet_fields, ptr_fields

__all__ = ["packet_layout", "ptr_layout", "table_write_layout", "table_read_signature",
           "neuron_stream", "axon_stream"]


def packet_layout(mesh: Mesh, cfg: CoreConfig) -> data.StructLayout:
    """A packet, and an entry of the destination table: ``{x, y, axon}``."""
    return data.StructLayout({k: unsigned(w) for k, w in packet_fields(mesh, cfg).items()})


def ptr_layout(mesh: Mesh) -> data.StructLayout:
    """An entry of the pointer table: ``{base, count}``."""
    return data.StructLayout({k: unsigned(w) for k, w in ptr_fields(mesh).items()})


def table_write_layout(mesh: Mesh, cfg: CoreConfig) -> data.StructLayout:
    """A write into a core's routing table.

    ``dest = 0`` writes ``pointer[addr]`` (``addr < neurons``), ``dest = 1`` writes
    ``dest_table[addr]`` (``addr < depth``); ``data`` is the entry's word as packed by
    :meth:`glocal.golden.noc.RouteTable.pointer_words` / ``dest_words``.
    """
    width = max(packet_layout(mesh, cfg).size, ptr_layout(mesh).size)
    return data.StructLayout({
        "dest": unsigned(1),
        "addr": range(max(mesh.depth, cfg.neurons)),
        "data": unsigned(width),
    })


def table_read_signature(mesh: Mesh, cfg: CoreConfig) -> wiring.Signature:
    """A read port of a core's routing table, as seen by the table (the egress).

    ``en`` reads entry ``addr`` of the pointer table (``dest = 0``) or of the destination
    table (``dest = 1``); ``data`` holds it, zero-extended, in the next cycle. Reads use
    their own memory ports: they may happen while spikes are being looked up.
    """
    layout = table_write_layout(mesh, cfg)
    return wiring.Signature({
        "en": In(1),
        "dest": In(1),
        "addr": In(layout["addr"].shape),
        "data": Out(layout["data"].shape),
    })


def neuron_stream(cfg: CoreConfig) -> stream.Signature:
    """Fired neuron ids out of a core (see the module docstring)."""
    return stream.Signature(range(cfg.neurons))


def axon_stream(cfg: CoreConfig) -> stream.Signature:
    """Axon ids into a core's pending axon bank (see the module docstring)."""
    return stream.Signature(range(cfg.axons))
