"""The FPGA top-level shared by every board: clock, reset, host UART, activity LEDs."""

from __future__ import annotations

from collections.abc import Callable

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import io

from glocal.boards.board import Board

__all__ = ["Top"]


class Top(Elaboratable):
    """Board top-level around a chip.

    Parameters
    ----------
    board : Board
        Provides the clock domain (PLL) for the requested frequency.
    chip : callable
        ``chip(clk_hz)`` returns the chip component; it must have members ``rx`` (In(1)),
        ``tx`` (Out(1)) and ``busy`` (Out(1)). It gets the PLL's real frequency so that
        its UART divisor is exact.
    mhz : float
        Requested core clock.
    """

    def __init__(self, *, board: Board, chip: Callable[[float], Elaboratable], mhz: float):
        self.board = board
        self.chip = chip
        self.mhz = mhz

    def elaborate(self, platform):
        m = Module()
        real_mhz = self.board.clock_domain(m, platform, self.mhz)
        m.submodules.chip = chip = self.chip(real_mhz * 1e6)

        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        m.d.comb += [chip.rx.eq(rx.i), tx.o.eq(chip.tx)]

        # LED 0: the chip is computing. LED 1: a heartbeat of about 1 Hz, proof of a clock
        # (the top bit of a free-running counter: a carry chain, never the critical path).
        beat = Signal(int(real_mhz * 1e6).bit_length())
        m.d.sync += beat.eq(beat + 1)
        m.submodules.led_busy = busy = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.submodules.led_beat = heart = io.Buffer("o", platform.request("led", 1, dir="-"))
        m.d.comb += [busy.o.eq(chip.busy), heart.o.eq(beat[-1])]
        return m
