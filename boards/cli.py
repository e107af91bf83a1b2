"""What ``glocal build`` and ``glocal program`` do, behind the argument parser."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from glocal.boards.board import BuildError, TimingError, program
from glocal.boards.build import BOARDS, board_config, board_mesh, build_board, memory_plan

__all__ = ["run_build", "run_program"]


def run_build(*, board: str, lanes: int | None, axons: int | None, neurons: int | None,
              mhz: float | None, out: str | None, mesh: str | None = None) -> int:
    """Build and print the report; exit code 0 only for a bitstream that meets timing."""
    console = Console()
    try:
        cfg = board_config(board, lanes=lanes, axons=axons, neurons=neurons)
        grid = board_mesh(board, mesh)
        out_dir = Path(out or f"out/build/{board}")
        console.print(f"building {board}: {grid.rows}x{grid.cols} mesh of {cfg.axons}x"
                      f"{cfg.neurons} cores, lanes {cfg.lanes} (the first run compiles the "
                      "WebAssembly tools and is slow)")
        for line in memory_plan(board, cfg, grid):
            console.print(f"  {line}")
        with console.status("synthesis, place and route"):
            report, bitstream = build_board(board, cfg=cfg, mhz=mhz, out_dir=out_dir,
                                            mesh=grid)
    except TimingError as e:
        console.print(_table(board, e.report))
        console.print(f"[red]error:[/red] {e}")
        return 2
    except BuildError as e:
        console.print(f"[red]error:[/red] {e}")
        return 2
    console.print(_table(board, report))
    console.print(f"Fmax {report.fmax_mhz:.1f} MHz for {report.requested_mhz:.1f} MHz "
                  f"requested: timing met. Bitstream: {bitstream}")
    return 0


def _table(board, report) -> Table:
    table = Table(title=f"glocal on {board}")
    for col in ("resource", "used", "available", "use"):
        table.add_column(col, justify="left" if col == "resource" else "right")
    for row in report.rows():
        table.add_row(*row)
    return table


def run_program(*, board: str, bitstream: str | None) -> int:
    if board not in BOARDS:
        print(f"error: unknown board {board!r}; known boards: {', '.join(BOARDS)}",
              file=sys.stderr)
        return 2
    b = BOARDS[board]()
    path = Path(bitstream or f"out/build/{board}/glocal{b.bitstream_ext}")
    try:
        program(b, path)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
