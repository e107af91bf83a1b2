"""The chip as a board or a simulator sees it: host UART in front of the core array.

`Chip` is :class:`glocal.rtl.host.UartHost` on the bus and step control of a
:class:`glocal.rtl.array.CoreArray` (the cores of a mesh, their spike fabric, the bus
interconnect and the step synchronisation). The default mesh is one core (`single_core`),
which behaves as the single-core chip did: its routing table is empty after reset, so
its spikes go nowhere until the host writes one.

A simulation may build it with ``link=Link.BYTES`` instead: the same host interpreter
(:class:`glocal.rtl.host.Host`) behind byte streams, without the UART.
"""

from __future__ import annotations

import enum

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden import hostproto as hp
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh
from glocal.rtl.array import CoreArray
from glocal.rtl.bus import Pipe
from glocal.rtl.host import Host, UartHost

__all__ = ["Chip", "Link", "single_core"]


class Link(enum.Enum):
    """How the host's bytes reach the chip's host interpreter."""

    #: An 8N1 UART (`rtl.uart`): serial ``rx``/``tx`` pins, 10 bit times a byte. The boards.
    UART = "uart"
    #: Byte streams straight into and out of `rtl.host.Host`: a byte a cycle each way.
    #: Simulation only.
    BYTES = "bytes"


def single_core(cfg: CoreConfig) -> Mesh:
    """The default mesh: one core whose table gives each neuron one destination.

    ``depth = neurons`` and ``fanout = 1`` keep the routing memories small (a recurrent
    one-to-one map fits) on the small FPGAs the one-core chip is built for.
    """
    return Mesh(rows=1, cols=1, depth=cfg.neurons, fanout=1)


class Chip(wiring.Component):
    """Host interface plus the cores of a mesh.

    Parameters
    ----------
    cfg : CoreConfig
        Every core's geometry and widths.
    clk_freq : float
        Clock frequency in Hz (sets the UART divisor and the host interface's inter-byte
        timeout, ``hostproto.TIMEOUT_S`` of it).
    baud : float
        Host link baud rate (unused with ``Link.BYTES``).
    mesh : Mesh or None
        The cores and their routing-table sizes (`single_core` of ``cfg`` if None).
    pipe : bool
        A register stage each way between host and cores (`rtl.bus.Pipe`): one more
        cycle per bus access for a shorter critical path. A board whose clock does not
        need it saves its flip-flops (about 100).
    single_port : bool
        The cores keep W and H in single-port RAM (`rtl.core.Core`'s ``single_port``: the
        iCE40 UP5K's SPRAM).
    link : Link
        The host link. ``Link.UART`` (the default, and the boards' link) is an 8N1 UART
        of ``clk_freq / baud`` cycles a bit. ``Link.BYTES`` carries the same frames to the
        same host interpreter without the UART's serialisation: a byte a cycle each way
        instead of one per ``10 * clk_freq / baud`` cycles, for simulation only (no board
        has such a link; `glocal.sim.native` builds either).

    Members
    -------
    rx : In(1), or In(stream.Signature(8)) with ``Link.BYTES``
        Serial line from the host (idle high); with ``Link.BYTES``, the received bytes, one
        per cycle while ``rx.valid`` is high (always taken: ``rx.ready`` is high).
    tx : Out(1), or Out(stream.Signature(8)) with ``Link.BYTES``
        Serial line to the host (idle high); with ``Link.BYTES``, the response bytes (one
        per cycle while ``tx.ready`` is high).
    busy : Out(1)
        A step is running (a core, or spikes in the fabric) or the host interface is
        executing a command.
    idle : Out(1)
        Not ``busy``: nothing will change until the host sends a byte (a simulation may
        stop the clock then).
    """

    def __init__(self, *, cfg: CoreConfig, clk_freq: float, baud: float = hp.DEFAULT_BAUD,
                 mesh: Mesh | None = None, pipe: bool = True, single_port: bool = False,
                 link: Link = Link.UART):
        try:
            link = Link(link)
        except ValueError:
            raise ValueError(f"link must be one of {', '.join(repr(k.value) for k in Link)}, "
                             f"not {link!r}") from None
        # baud may be clk_freq / 4 in simulation: the UART needs at least 4 cycles a bit.
        self._cfg = cfg
        self._clk_freq = clk_freq
        self._baud = baud
        self._mesh = single_core(cfg) if mesh is None else mesh
        self._pipe = pipe
        self._single_port = single_port
        self._link = link
        if link is Link.UART:
            ports = {"rx": In(1, init=1), "tx": Out(1, init=1)}
        else:
            ports = {"rx": In(stream.Signature(8)), "tx": Out(stream.Signature(8))}
        super().__init__(ports | {"busy": Out(1), "idle": Out(1)})

    @property
    def mesh(self) -> Mesh:
        return self._mesh

    @property
    def link(self) -> Link:
        return self._link

    def elaborate(self, platform):
        m = Module()
        if self._link is Link.UART:
            m.submodules.host = host = UartHost(cfg=self._cfg, mesh=self._mesh,
                                                clk_freq=self._clk_freq, baud=self._baud)
        else:
            # UartHost's default timeout: a host that stops mid-frame is answered TIMEOUT
            # after the same time at the same clock on either link.
            m.submodules.host = host = Host(
                cfg=self._cfg, mesh=self._mesh,
                timeout_cycles=round(self._clk_freq * hp.TIMEOUT_S))
        m.submodules.array = array = CoreArray(cfg=self._cfg, mesh=self._mesh,
                                               single_port=self._single_port)
        # A register stage each way: the host's frame logic and the cores' bus decoders
        # would otherwise form one combinational path (13.9 MHz on an iCE40 UP5K).
        if self._pipe:
            m.submodules.pipe = pipe = Pipe()
            wiring.connect(m, host.bus, pipe.up)
            wiring.connect(m, pipe.down, array.bus)
        else:
            wiring.connect(m, host.bus, array.bus)
        wiring.connect(m, host.ctrl, array.ctrl)
        if self._link is Link.UART:
            m.d.comb += [host.rx.eq(self.rx), self.tx.eq(host.tx)]
        else:
            m.d.comb += host.rx_error.eq(0)   # no UART, no framing errors
            wiring.connect(m, wiring.flipped(self.rx), host.rx)
            wiring.connect(m, host.tx, wiring.flipped(self.tx))
        m.d.comb += [
            self.busy.eq(array.ctrl.busy | ~host.idle),
            self.idle.eq(~self.busy),
        ]
        return m
