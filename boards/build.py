"""``glocal build``: a chip configuration for a board, its bitstream and its report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from glocal.boards.board import Board, BuildError
from glocal.boards.icebreaker import ICEBreaker
from glocal.boards.pll import PllError
from glocal.boards.report import BuildReport
from glocal.boards.top import Top
from glocal.boards.ulx3s import ULX3S
from glocal.golden.config import ConfigError, CoreConfig
from glocal.rtl.chip import Chip

__all__ = ["BOARDS", "board_config", "top_level", "build_board"]

BOARDS: dict[str, type[Board]] = {"icebreaker": ICEBreaker, "ulx3s": ULX3S}

#: Each board's target core. Neither builds clean yet: the iCE40 chip does not fit (its
#: W and H need SPRAM) and the ECP5 chip misses 100 MHz; docs/boards.md has the figures.
DEFAULT_CONFIGS = {
    "icebreaker": CoreConfig(axons=64, neurons=64, lanes=2),
    "ulx3s": CoreConfig(axons=256, neurons=256, lanes=8),
}


def board_config(board: str, *, lanes: int | None = None, axons: int | None = None,
                 neurons: int | None = None) -> CoreConfig:
    """The board's default core configuration with the given fields replaced.

    Raises
    ------
    BuildError
        For an unknown board or an invalid configuration (the message names the field).
    """
    if board not in BOARDS:
        raise BuildError(f"unknown board {board!r}; known boards: {', '.join(BOARDS)}")
    changes = {k: v for k, v in (("lanes", lanes), ("axons", axons), ("neurons", neurons))
               if v is not None}
    try:
        return dataclasses.replace(DEFAULT_CONFIGS[board], **changes)
    except ConfigError as e:
        raise BuildError(f"configuration for {board} is invalid: {e}") from None


def top_level(board: str, cfg: CoreConfig, mhz: float) -> Top:
    """The board's top-level around a one-core chip of configuration ``cfg``."""
    return Top(board=BOARDS[board](), chip=lambda clk_hz: Chip(cfg=cfg, clk_freq=clk_hz),
               mhz=mhz)


def build_board(board: str, *, cfg: CoreConfig, mhz: float | None, out_dir: Path
                ) -> tuple[BuildReport, Path]:
    """Build the bitstream of a one-core chip for ``board``; write ``build.json`` beside it."""
    b = BOARDS[board]()
    mhz = b.default_mhz if mhz is None else mhz
    try:
        b.pll(mhz)
    except PllError as e:
        raise BuildError(f"--clock {mhz} MHz cannot be made on the {board}: {e}") from None
    report, bitstream = b.build(top_level(board, cfg, mhz), mhz=mhz, out_dir=out_dir)
    (Path(out_dir) / "build.json").write_text(json.dumps({
        "board": board, "config": dataclasses.asdict(cfg), "requested_mhz": mhz,
        "fmax_mhz": report.fmax_mhz, "timing_met": report.timing_met,
        "resources": {k: dataclasses.asdict(v) for k, v in report.resources.items()},
        "bitstream": str(bitstream)}, indent=2))
    return report, bitstream
