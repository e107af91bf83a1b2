"""iCEBreaker: Lattice iCE40UP5K, 12 MHz oscillator, FTDI USB-serial on pins 6 (rx) / 9 (tx)."""

from __future__ import annotations

from amaranth.hdl import ClockDomain, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from amaranth_boards.icebreaker import ICEBreakerPlatform

from glocal.boards.board import Board
from glocal.boards.pll import Ice40Pll, ice40_pll

__all__ = ["ICEBreaker"]

#: Power-on reset after configuration: iCE40 block RAMs read as zeros for about 3 µs
#: after configuration (the same margin as Amaranth's own iCE40 clock domain).
POR_SECONDS = 15e-6


class ICEBreaker(Board):
    name = "icebreaker"
    f_ref_mhz = 12.0
    # The default chip (build.DEFAULT_CONFIGS, the 256×256 plastic core) meets 24 MHz from
    # the PLL (26.2 MHz in the build of docs/boards.md, session 5): issue #7's target.
    # `--clock 12` runs it on the oscillator instead.
    default_mhz = 24.0
    bitstream_ext = ".bin"
    # Map multipliers onto the eight SB_MAC16 DSPs; without it they are built from LUTs
    # (a 32×32 lanes-1 chip: 6,693 LCs without, 4,603 with, of 5,280).
    synth_opts = "-dsp"
    # No bus register stage (`rtl.bus.Pipe`): its 100 flip-flops do not fit beside the
    # 256×256 core, and the bus's long paths end at registers in the array's interconnect
    # and the core's `Regs` anyway.
    bus_pipe = False
    # W and H in the UP5K's four SB_SPRAM256KA (1 Mbit, single-port): the only place a
    # core with more than 1,024 synapses fits (docs/boards.md).
    single_port = True

    def platform(self):
        return ICEBreakerPlatform()

    def pll(self, mhz: float) -> Ice40Pll | None:
        """The PLL setting for ``mhz``, or None for the 12 MHz reference itself.

        The iCE40 PLL makes 16–275 MHz only; a design too slow for 16 MHz runs on the
        oscillator directly.
        """
        if mhz == self.f_ref_mhz:
            return None
        return ice40_pll(self.f_ref_mhz, mhz)

    def clock_domain(self, m: Module, platform, mhz: float) -> float:
        pll = self.pll(mhz)
        m.domains.sync = cd = ClockDomain("sync")
        if pll is None:
            self._direct_clock(m, platform, cd)
            return self.f_ref_mhz
        # The 12 MHz pin feeds the PLL pad directly (no SB_IO/global buffer in between).
        clk_pin = platform.request(platform.default_clk, dir="-")
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

    def _direct_clock(self, m: Module, platform, cd: ClockDomain) -> None:
        """``sync`` from the 12 MHz pin through a global buffer, reset at power-on."""
        clk_pin = platform.request(platform.default_clk, dir="-")
        m.submodules.clk_buffer = clk_in = io.Buffer("i", clk_pin)
        m.submodules.clk_global = Instance(
            "SB_GB", i_USER_SIGNAL_TO_GLOBAL_BUFFER=clk_in.i, o_GLOBAL_BUFFER_OUTPUT=cd.clk)
        # Counted in a domain without reset on the same clock: flip-flops start at 0 after
        # configuration, and sync leaves reset when the count is reached.
        m.domains.por = por = ClockDomain("por", reset_less=True, local=True)
        m.d.comb += por.clk.eq(cd.clk)
        delay = round(POR_SECONDS * self.f_ref_mhz * 1e6)
        timer = Signal(range(delay + 1))
        with m.If(timer != delay):
            m.d.por += timer.eq(timer + 1)
        m.d.comb += cd.rst.eq(timer != delay)
        platform.add_clock_constraint(cd.clk, self.f_ref_mhz * 1e6)
