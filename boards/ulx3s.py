"""ULX3S 85F: Lattice ECP5 LFE5U-85F, 25 MHz oscillator, FT231X USB-serial."""

from __future__ import annotations

import os
from pathlib import Path

from amaranth.hdl import ClockDomain, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from glocal.boards.board import Board
from glocal.boards.pll import ecp5_pll

__all__ = ["ULX3S"]


#: Multipliers of two operands of at most 9 bits, or with one of at most 4 bits, are
#: built in logic (`soft_mul.v`): the 156 18×18 DSPs then suffice for four 8-lane cores
#: (each lane's two `P·H`, `alpha·accH` and `decay·v` on DSPs, `beta·f` in logic).
SOFT_MUL = ("techmap -autoproc -map soft_mul_map.vh "
            "t:$mul r:A_WIDTH<=9 %i r:B_WIDTH<=9 %i t:$mul r:B_WIDTH<=4 %i %u "
            "t:$mul r:A_WIDTH<=4 %i %u")


class ULX3S(Board):
    name = "ulx3s"
    f_ref_mhz = 25.0
    default_mhz = 100.0
    bitstream_ext = ".bit"
    script_after_read = SOFT_MUL
    # Not `.v`: the build reads every `.v` file it has as part of the design.
    build_files = {"soft_mul_map.vh": (Path(__file__).parent / "soft_mul.v").read_text()}
    # nextpnr-ecp5's default router (router1) left 128,788 overused wires after 57
    # minutes on the 2×2 chip; router2 routed it in 12 (docs/boards.md).
    nextpnr_opts = "--router router2"

    def platform(self):
        # amaranth-boards' ULX3S platform checks for openFPGALoader even when only
        # building; Debian's package provides it (OPENFPGALOADER may name another path).
        os.environ.setdefault("OPENFPGALOADER", "openFPGALoader")
        return ULX3S_85F_Platform()

    def pll(self, mhz: float):
        return ecp5_pll(self.f_ref_mhz, mhz)

    def clock_domain(self, m: Module, platform, mhz: float) -> float:
        pll = self.pll(mhz)
        m.submodules.clk_buffer = clk_in = io.Buffer(
            "i", platform.request(platform.default_clk, dir="-"))
        m.domains.sync = cd = ClockDomain("sync")
        locked = Signal()
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=str(self.f_ref_mhz), a_FREQUENCY_PIN_CLKOP=str(pll.f_out),
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKI_DIV=pll.clki_div, p_CLKFB_DIV=pll.clkfb_div, p_CLKOP_DIV=pll.clkop_div,
            p_CLKOP_CPHASE=(pll.clkop_div - 1) // 2, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            i_RST=0, i_STDBY=0, i_CLKI=clk_in.i, i_CLKFB=cd.clk, i_PHASESEL0=0, i_PHASESEL1=0,
            i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=cd.clk, o_LOCK=locked)
        m.submodules.reset_sync = ResetSynchronizer(~locked, domain="sync")
        platform.add_clock_constraint(cd.clk, pll.f_out * 1e6)
        return pll.f_out
