"""``glocal build``: a chip configuration for a board, its bitstream and its report."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from glocal.boards.board import Board, BuildError, TimingError
from glocal.boards.icebreaker import ICEBreaker
from glocal.boards.pll import PllError
from glocal.boards.report import BuildReport
from glocal.boards.top import Top
from glocal.boards.ulx3s import ULX3S
from glocal.golden.config import ConfigError, CoreConfig
from glocal.golden.noc import Mesh
from glocal.rtl.chip import Chip, single_core
from glocal.rtl.core import memory_bits, synapse_memories
from glocal.rtl.spram import TILE_DEPTH, TILE_WIDTH, tiles

__all__ = ["BOARDS", "DEFAULT_MESHES", "board_config", "board_mesh", "memory_plan",
           "top_level", "build_board"]

BOARDS: dict[str, type[Board]] = {"icebreaker": ICEBreaker, "ulx3s": ULX3S}

#: Each board's target core and mesh. The iCEBreaker's is a 256×256 lanes-1 core: its
#: W and H (1 Mbit) fill the UP5K's four SPRAMs (`ICEBreaker.single_port`), the rest of
#: the chip takes the 30 EBRs and about 5,180 of the 5,280 LCs, and it meets 24 MHz from the
#: PLL (`ICEBreaker.default_mhz`; docs/boards.md, session 5). The ECP5
#: chip misses 100 MHz. On the ECP5-85F (208 DP16KD of 18 kbit), a 256×256 core's W and H
#: are 1 Mbit (76 blocks with the rest of the core): two fit, four do not. Four 256×128
#: cores (0.5 Mbit of W and H each) do, which `memory_plan` prints with each build; their 32
#: lanes need 128 of the 156 DSPs (`ulx3s.SOFT_MUL`).
DEFAULT_CONFIGS = {
    "icebreaker": CoreConfig(axons=256, neurons=256, lanes=1),
    # acc_bits 18: the sum of 256 8-bit weights needs 16, and 18 is the DSP's input
    # width, so `alpha·accH` takes one 18×18 multiplier instead of two.
    "ulx3s": CoreConfig(axons=256, neurons=128, lanes=8, acc_bits=18),
}
DEFAULT_MESHES = {"icebreaker": (1, 1), "ulx3s": (2, 2)}

#: Block-RAM bits each device has (nextpnr's cell type, cells, bits per cell).
BLOCK_RAM = {"icebreaker": ("ICESTORM_RAM", 30, 4096), "ulx3s": ("DP16KD", 208, 18432)}
#: Single-port RAM blocks of the boards whose cores keep W and H there (`Board.single_port`).
SINGLE_PORT_RAM = {"icebreaker": ("ICESTORM_SPRAM", 4)}


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


def board_mesh(board: str, mesh: str | None = None) -> Mesh:
    """The chip's mesh on ``board``: ``"RxC"``, or the board's default.

    One core gets `rtl.chip.single_core`'s small routing tables; a mesh of more gets the
    default `Mesh` tables (1024 destinations, fan-out 16).
    """
    if board not in BOARDS:
        raise BuildError(f"unknown board {board!r}; known boards: {', '.join(BOARDS)}")
    if mesh is None:
        rows, cols = DEFAULT_MESHES[board]
    else:
        match = re.fullmatch(r"(\d+)x(\d+)", mesh)
        if match is None or not 1 <= int(match[1]) * int(match[2]) <= 256:
            raise BuildError(f"--mesh must be RxC with 1 to 256 cores (e.g. 2x2), not {mesh!r}")
        rows, cols = int(match[1]), int(match[2])
    return Mesh(rows, cols)


def memory_plan(board: str, cfg: CoreConfig, mesh: Mesh) -> list[str]:
    """The block-RAM arithmetic of ``mesh`` cores of ``cfg`` on ``board``, as lines.

    Counts the bits the cores store (`rtl.core.memory_bits`); block RAM holds them with
    some waste (widths and depths round up to a block's shapes), so nextpnr's count,
    printed after the build, is the one that decides.
    """
    cell, count, bits = BLOCK_RAM[board]
    per = memory_bits(cfg)
    core = sum(per.values())
    lines = [
        f"one core: W {per['weight'] / 1024:.0f} kbit + H {per['hebb'] / 1024:.0f} kbit "
        f"+ other {(core - per['weight'] - per['hebb']) / 1024:.0f} kbit = "
        f"{core / 1024:.0f} kbit",
    ]
    if BOARDS[board].single_port:
        # W and H go to whole SPRAM tiles; the rest of the core to block RAM.
        sp_cell, sp_count = SINGLE_PORT_RAM[board]
        used = mesh.cores * sum(columns * banks for _, columns, banks in
                                (tiles(shape, depth) for shape, depth in
                                 synapse_memories(cfg).values()))
        lines.append(f"W and H of {mesh.cores} cores in {used} of the device's {sp_count} "
                     f"{sp_cell} ({TILE_DEPTH // 1024}K × {TILE_WIDTH} bits each)")
        core -= per["weight"] + per["hebb"]
    total = core * mesh.cores
    lines.append(
        f"{mesh.cores} cores: {total / 1024:.0f} kbit of the device's {count * bits / 1024:.0f}"
        f" kbit in {count} {cell} ({100 * total / (count * bits):.0f} % before rounding "
        f"to block shapes)")
    return lines


def top_level(board: str, cfg: CoreConfig, mhz: float, mesh: Mesh | None = None) -> Top:
    """The board's top-level around a chip of ``mesh`` cores (one core if None) of ``cfg``."""
    mesh = single_core(cfg) if mesh is None or mesh.cores == 1 else mesh
    b = BOARDS[board]()
    return Top(board=b, chip=lambda clk_hz: Chip(cfg=cfg, clk_freq=clk_hz, mesh=mesh,
                                                 pipe=b.bus_pipe, single_port=b.single_port),
               mhz=mhz)


def build_board(board: str, *, cfg: CoreConfig, mhz: float | None, out_dir: Path,
                mesh: Mesh | None = None) -> tuple[BuildReport, Path]:
    """Build the bitstream of a chip for ``board``; write ``build.json`` beside it."""
    b = BOARDS[board]()
    mhz = b.default_mhz if mhz is None else mhz
    mesh = Mesh(1, 1) if mesh is None else mesh
    try:
        b.pll(mhz)
    except PllError as e:
        raise BuildError(f"--clock {mhz} MHz cannot be made on the {board}: {e}") from None
    def record(report: BuildReport, bitstream: Path | None) -> None:
        (Path(out_dir) / "build.json").write_text(json.dumps({
            "board": board, "config": dataclasses.asdict(cfg),
            "mesh": {"rows": mesh.rows, "cols": mesh.cols}, "requested_mhz": mhz,
            "fmax_mhz": report.fmax_mhz, "timing_met": report.timing_met,
            "resources": {k: dataclasses.asdict(v) for k, v in report.resources.items()},
            "critical_path": report.critical_path,
            "bitstream": None if bitstream is None else str(bitstream)}, indent=2))

    try:
        report, bitstream = b.build(top_level(board, cfg, mhz, mesh), mhz=mhz,
                                    out_dir=out_dir)
    except TimingError as e:
        # A missed clock still leaves its figures (and no bitstream) for the record.
        record(e.report, None)
        raise
    record(report, bitstream)
    return report, bitstream
