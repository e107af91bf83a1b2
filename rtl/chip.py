"""The chip as a board or a simulator sees it: host UART in front of the cores.

Today the chip has one core (core index 0 of the memory map); the mesh of the many-core
issue will replace the single core behind the same host interface.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.config import CoreConfig
from glocal.rtl.core import Core
from glocal.rtl.host import UartHost

__all__ = ["Chip", "DEFAULT_BAUD"]

#: Host link speed on the boards (FTDI USB-serial bridges run it reliably).
DEFAULT_BAUD = 115_200


class Chip(wiring.Component):
    """Host interface plus one core.

    Parameters
    ----------
    cfg : CoreConfig
        The core's geometry and widths.
    clk_freq : float
        Clock frequency in Hz (sets the UART divisor).
    baud : float
        Host link baud rate.

    Members
    -------
    rx : In(1)
        Serial line from the host (idle high).
    tx : Out(1)
        Serial line to the host (idle high).
    busy : Out(1)
        A step is running or the host interface is executing a command.
    idle : Out(1)
        Not ``busy``: nothing will change until the host sends a byte (a simulation may
        stop the clock then).
    """

    def __init__(self, *, cfg: CoreConfig, clk_freq: float, baud: float = DEFAULT_BAUD):
        # baud may be clk_freq / 4 in simulation: the UART needs at least 4 cycles a bit.
        self._cfg = cfg
        self._clk_freq = clk_freq
        self._baud = baud
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "busy": Out(1),
                          "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = UartHost(cfg=self._cfg, cores=1, clk_freq=self._clk_freq,
                                            baud=self._baud)
        m.submodules.core = core = Core(cfg=self._cfg)
        wiring.connect(m, host.bus, core.bus)
        wiring.connect(m, host.ctrl, core.ctrl)
        # One core and no network yet: its spikes are taken and dropped (the host reads
        # them from Region.S); its axons stream stays idle (valid resets low).
        m.d.comb += core.spikes.ready.eq(1)
        m.d.comb += [
            host.rx.eq(self.rx),
            self.tx.eq(host.tx),
            self.busy.eq(core.ctrl.busy | ~host.idle),
            self.idle.eq(~self.busy),
        ]
        return m
