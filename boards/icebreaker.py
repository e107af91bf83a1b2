"""iCEBreaker: Lattice iCE40UP5K, 12 MHz oscillator, FTDI USB-serial on pins 6 (rx) / 9 (tx)."""

from __future__ import annotations

from amaranth.hdl import ClockDomain, Instance, Module, Signal
from amaranth.lib.cdc import ResetSynchronizer
from amaranth_boards.icebreaker import ICEBreakerPlatform

from glocal.boards.board import Board
from glocal.boards.pll import ice40_pll

__all__ = ["ICEBreaker"]


class ICEBreaker(Board):
    name = "icebreaker"
    f_ref_mhz = 12.0
    default_mhz = 24.0
    bitstream_ext = ".bin"
    # Map multipliers onto the eight SB_MAC16 DSPs; without it they are built from LUTs
    # (a 32×32 lanes-1 chip: 6,693 LCs without, 4,603 with, of 5,280).
    synth_opts = "-dsp"

    def platform(self):
        return ICEBreakerPlatform()

    def pll(self, mhz: float):
        return ice40_pll(self.f_ref_mhz, mhz)

    def clock_domain(self, m: Module, platform, mhz: float) -> float:
        pll = self.pll(mhz)
        # The 12 MHz pin feeds the PLL pad directly (no SB_IO/global buffer in between).
        clk_pin = platform.request(platform.default_clk, dir="-")
        m.domains.sync = cd = ClockDomain("sync")
        locked = Signal()
        m.submodules.pll = Instance(
            "SB_PLL40_PAD",
            p_FEEDBACK_PATH="SIMPLE", p_DIVR=pll.divr, p_DIVF=pll.divf, p_DIVQ=pll.divq,
            p_FILTER_RANGE=pll.filter_range,
            i_PACKAGEPIN=clk_pin.io, i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=cd.clk, o_LOCK=locked)
        m.submodules.reset_sync = ResetSynchronizer(~locked, domain="sync")
        platform.add_clock_constraint(cd.clk, pll.f_out * 1e6)
        return pll.f_out
