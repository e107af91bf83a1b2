"""PLL settings for the boards' clocks, found by the same searches as icepll and ecppll.

Pure arithmetic (no HDL): `ice40_pll` and `ecp5_pll` return the divider settings whose
output frequency is closest to the request within each PLL's documented ranges, and the
frequency actually achieved, so a build can report it instead of the request.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PllError", "Ice40Pll", "Ecp5Pll", "ice40_pll", "ecp5_pll"]


class PllError(ValueError):
    """No divider setting reaches the requested frequency within the PLL's limits."""


@dataclass(frozen=True)
class Ice40Pll:
    """SB_PLL40 settings (simple feedback): ``f_out = f_in·(divf+1) / ((divr+1)·2**divq)``."""

    f_in: float
    divr: int
    divf: int
    divq: int
    filter_range: int

    @property
    def f_out(self) -> float:
        return self.f_in * (self.divf + 1) / ((self.divr + 1) * (1 << self.divq))


@dataclass(frozen=True)
class Ecp5Pll:
    """EHXPLLL settings (CLKOP feedback): ``f_out = f_in·clkfb_div / clki_div``."""

    f_in: float
    clki_div: int
    clkfb_div: int
    clkop_div: int

    @property
    def f_out(self) -> float:
        return self.f_in * self.clkfb_div / self.clki_div

    @property
    def f_vco(self) -> float:
        return self.f_out * self.clkop_div


def ice40_pll(f_in_mhz: float, f_out_mhz: float, *, tolerance: float = 0.02) -> Ice40Pll:
    """Closest iCE40 PLL setting (PFD 10–133 MHz, VCO 533–1066 MHz, output 16–275 MHz).

    Raises
    ------
    PllError
        If the best reachable frequency is further than ``tolerance`` (relative) from
        ``f_out_mhz``, or the request is outside 16–275 MHz.
    """
    if not 16 <= f_out_mhz <= 275:
        raise PllError(f"iCE40 PLL output must be in [16, 275] MHz, not {f_out_mhz}")
    best = None
    for divr in range(16):
        f_pfd = f_in_mhz / (divr + 1)
        if not 10 <= f_pfd <= 133:
            continue
        for divf in range(128):
            f_vco = f_pfd * (divf + 1)
            if not 533 <= f_vco <= 1066:
                continue
            for divq in range(1, 7):
                f = f_vco / (1 << divq)
                if best is None or abs(f - f_out_mhz) < abs(best.f_out - f_out_mhz):
                    best = Ice40Pll(f_in_mhz, divr, divf, divq, _ice40_filter(f_pfd))
    if best is None or abs(best.f_out - f_out_mhz) > tolerance * f_out_mhz:
        raise PllError(f"iCE40 PLL cannot make {f_out_mhz} MHz from {f_in_mhz} MHz")
    return best


def _ice40_filter(f_pfd: float) -> int:
    for rng, limit in enumerate((17, 26, 44, 66, 101), start=1):
        if f_pfd < limit:
            return rng
    return 6


def ecp5_pll(f_in_mhz: float, f_out_mhz: float, *, tolerance: float = 0.02) -> Ecp5Pll:
    """Closest ECP5 EHXPLLL setting (PFD ≥ 3.125 MHz, VCO 400–800 MHz, output 3.125–400).

    Raises
    ------
    PllError
        If no setting comes within ``tolerance`` (relative) of ``f_out_mhz``.
    """
    if not 3.125 <= f_out_mhz <= 400:
        raise PllError(f"ECP5 PLL output must be in [3.125, 400] MHz, not {f_out_mhz}")
    best = None
    for clki in range(1, 129):
        f_pfd = f_in_mhz / clki
        if not 3.125 <= f_pfd <= 400:
            continue
        for clkfb in range(1, 81):
            f = f_pfd * clkfb
            # The output divider only sets the VCO: take the one nearest the middle of its
            # range (600 MHz), as ecppll does, for the least jitter.
            legal = [d for d in range(1, 129) if 400 <= f * d <= 800]
            if not legal:
                continue
            cand = Ecp5Pll(f_in_mhz, clki, clkfb, min(legal, key=lambda d: abs(f * d - 600)))
            if best is None or abs(f - f_out_mhz) < abs(best.f_out - f_out_mhz):
                best = cand
    if best is None or abs(best.f_out - f_out_mhz) > tolerance * f_out_mhz:
        raise PllError(f"ECP5 PLL cannot make {f_out_mhz} MHz from {f_in_mhz} MHz")
    return best
