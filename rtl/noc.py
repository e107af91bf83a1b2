"""Hardware shapes of the network-on-chip, built from :mod:`glocal.golden.noc`'s widths.

The two spike streams a core exchanges with the network are defined here, once:

``neuron_stream(cfg)``
    Out of a core: ``{neuron, value}`` of every neuron with a nonzero output this step
    (a spike, or an ANN core's activation), one per transfer, in any order, each at most
    once. The core's ``Control.ready`` must not rise before the cycle in which its last
    output of the step is offered.
``axon_stream(cfg)``
    Into a core: ``{axon, value}``, an axon to OR ``value`` into in the core's *pending*
    axon bank (the one the next ``start`` scans), one per transfer, in any order,
    possibly repeated. The core may hold ``ready`` low (for example while its scanner
    clears a word); nothing is lost.

``value`` is :func:`glocal.golden.noc.value_bits` wide: ``act_bits``, or zero bits on a
spike-only core (``act_bits = 1``), where every transfer means 1.
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh, dest_fields, packet_fields, ptr_fields, value_bits

__all__ = ["packet_layout", "dest_layout", "ptr_layout", "table_write_layout",
           "table_read_signature", "neuron_stream", "axon_stream"]


def packet_layout(mesh: Mesh, cfg: CoreConfig) -> data.StructLayout:
    """A packet: ``{x, y, axon}`` and, with ``act_bits > 1``, ``value``."""
    return data.StructLayout({k: unsigned(w) for k, w in packet_fields(mesh, cfg).items()})


def dest_layout(mesh: Mesh, cfg: CoreConfig) -> data.StructLayout:
    """An entry of the destination table: ``{x, y, axon}`` (a packet without its value)."""
    return data.StructLayout({k: unsigned(w) for k, w in dest_fields(mesh, cfg).items()})


def ptr_layout(mesh: Mesh) -> data.StructLayout:
    """An entry of the pointer table: ``{base, count}``."""
    return data.StructLayout({k: unsigned(w) for k, w in ptr_fields(mesh).items()})


def table_write_layout(mesh: Mesh, cfg: CoreConfig) -> data.StructLayout:
    """A write into a core's routing table.

    ``dest = 0`` writes ``pointer[addr]`` (``addr < neurons``), ``dest = 1`` writes
    ``dest_table[addr]`` (``addr < depth``); ``data`` is the entry's word as packed by
    :meth:`glocal.golden.noc.RouteTable.pointer_words` / ``dest_words``.
    """
    width = max(dest_layout(mesh, cfg).size, ptr_layout(mesh).size)
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
    """Nonzero outputs ``{neuron, value}`` out of a core (see the module docstring)."""
    return stream.Signature(data.StructLayout({"neuron": range(cfg.neurons),
                                               "value": unsigned(value_bits(cfg))}))


def axon_stream(cfg: CoreConfig) -> stream.Signature:
    """Inputs ``{axon, value}`` into a core's pending axon bank (see the module docstring)."""
    return stream.Signature(data.StructLayout({"axon": range(cfg.axons),
                                               "value": unsigned(value_bits(cfg))}))
