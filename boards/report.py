"""What a bitstream build reports: resources used against available, and timing.

Read from nextpnr's ``--report`` JSON (one format for iCE40 and ECP5), so the figures are
the place-and-route tool's own, not estimates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BuildReport", "Usage", "parse_nextpnr", "ReportError"]

#: Cell types worth showing, per family, with a readable name.
RESOURCE_NAMES = {
    "ICESTORM_LC": "logic cells (LUT4+FF)",
    "ICESTORM_RAM": "block RAM (EBR, 4 kbit)",
    "ICESTORM_SPRAM": "SPRAM (256 kbit)",
    "ICESTORM_DSP": "DSP (16x16)",
    "ICESTORM_PLL": "PLL",
    "TRELLIS_COMB": "LUT4",
    "TRELLIS_FF": "flip-flops",
    "DP16KD": "block RAM (DP16KD, 18 kbit)",
    "MULT18X18D": "multipliers (18x18)",
    "TRELLIS_RAMW": "distributed RAM",
    "EHXPLLL": "PLL",
}


class ReportError(ValueError):
    """The nextpnr report is missing or not in the expected format."""


@dataclass(frozen=True)
class Usage:
    used: int
    available: int

    @property
    def fraction(self) -> float:
        return self.used / self.available if self.available else 0.0


@dataclass(frozen=True)
class BuildReport:
    """Resources and timing of one placed-and-routed design.

    Members
    -------
    requested_mhz : float
        The clock the design was constrained to.
    fmax_mhz : float
        nextpnr's achieved maximum frequency of the core clock.
    resources : dict[str, Usage]
        Used and available cells per nextpnr cell type.
    critical_path : list[str]
        Net names along the slowest path, source first.
    """

    requested_mhz: float
    fmax_mhz: float
    resources: dict[str, Usage]
    critical_path: list[str] = field(default_factory=list)

    @property
    def timing_met(self) -> bool:
        return self.fmax_mhz >= self.requested_mhz

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(resource, used, available, percent) for the resources worth showing."""
        out = []
        for cell, name in RESOURCE_NAMES.items():
            if cell in self.resources:
                u = self.resources[cell]
                out.append((name, str(u.used), str(u.available), f"{100 * u.fraction:.1f} %"))
        return out


def parse_nextpnr(path: Path, requested_mhz: float, clock: str | None = None) -> BuildReport:
    """Read a nextpnr ``--report`` JSON file.

    Parameters
    ----------
    path : Path
        The report file.
    requested_mhz : float
        The clock constraint, to judge timing against.
    clock : str, optional
        Clock net name in the report (default: the slowest clock in it).

    Raises
    ------
    ReportError
        If the file is missing, unreadable, or lacks the fmax/utilization sections.
    """
    try:
        data = json.loads(Path(path).read_text())
        fmax = data["fmax"]
        util = data["utilization"]
    except FileNotFoundError:
        raise ReportError(f"nextpnr report {path} does not exist (did place-and-route run?)") \
            from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ReportError(f"nextpnr report {path} is not a valid report: {e}") from None
    if not fmax:
        raise ReportError(f"nextpnr report {path} has no clock (is the design clocked?)")
    if clock is None:
        achieved = min(v["achieved"] for v in fmax.values())
    elif clock in fmax:
        achieved = fmax[clock]["achieved"]
    else:
        raise ReportError(f"clock {clock!r} is not in {path}; it has {sorted(fmax)}")
    resources = {k: Usage(int(v["used"]), int(v["available"])) for k, v in util.items()}
    nets = []
    for path_ in data.get("critical_paths", [])[:1]:
        nets = [step["net"] for step in path_.get("path", []) if step.get("net")]
    return BuildReport(requested_mhz=requested_mhz, fmax_mhz=float(achieved),
                       resources=resources, critical_path=nets)
